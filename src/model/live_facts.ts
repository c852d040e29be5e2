/**
 * Runtime facts of a running instance that libvirt shows in a domain's live XML: pty paths, the
 * socket paths the driver chose for channels, the VNC port the hypervisor took, each disk's
 * backing chain and node index, the resource partition and the security labels.
 *
 * A driver learns them while it starts an instance (from the hypervisor and the host) and puts
 * them in the instance's runtime record under {@linkcode LIVE_FACTS_KEY}, so they are part of
 * the durable `domain.launched` fact: a restarted service shows the same live XML without asking
 * the hypervisor again. {@linkcode withLiveFacts} lays them over the definition the instance runs
 * with; the definition itself never changes.
 *
 * @module
 */

import type {
  BackingStore,
  Chardev,
  DomainDefinition,
  DomainDevices,
  Graphics,
  XmlElement,
  XmlPlacedElement,
} from "./domain.ts";

/** The runtime record's key that holds the {@linkcode LiveFacts}. */
export const LIVE_FACTS_KEY = "live";

/** The character device lists of `<devices>` that can carry a host path. */
export type ChardevListName = "serials" | "parallels" | "consoles" | "channels";

/** The host side of a character device as the instance has it. */
export interface LiveChardev {
  /** Which list of `<devices>` the device is in. */
  list: ChardevListName;
  /** Its position in that list. */
  index: number;
  /** The host path: the pty QEMU allocated, or the socket the driver named. */
  path: string;
  /** Whether the path is a pty (a `<console>` then also shows it as `tty`). */
  pty: boolean;
}

/** What a graphics console listens on, as the hypervisor reports it. */
export interface LiveGraphics {
  /** Its position in `<devices>`' graphics list. */
  index: number;
  /** The TCP port it listens on (VNC: 5900 + display). */
  port?: number;
  /** The WebSocket port, when it has one. */
  websocket?: number;
  /** The listen address the instance uses, when the definition left it to the driver. */
  listen?: string;
  /** The bus a D-Bus display uses, when the driver gave it the domain's private bus. */
  address?: string;
}

/** One image below a disk's top image. */
export interface LiveBackingLayer {
  /** `file` or `block`. */
  type: "file" | "block";
  /** The image's path. */
  path: string;
  /** Its format. */
  format: string;
  /** libvirt's index of the image in the domain (`<backingStore index>`). */
  index: number;
}

/** A disk's storage as the instance opened it. */
export interface LiveDisk {
  /** Its position in `<devices>`' disk list. */
  index: number;
  /** libvirt's index of its top image (`<source index>`); absent for an empty drive. */
  sourceIndex?: number;
  /** The images below the top, top first; empty: none (`<backingStore/>`); absent: unknown. */
  backing?: LiveBackingLayer[];
}

/** A `<seclabel>` the security driver gave the instance. */
export interface LiveSeclabel {
  /** `dynamic`, `static` or `none`. */
  type: string;
  /** The security model, e.g. `dac`. */
  model: string;
  /** `yes` / `no`. */
  relabel?: string;
  /** `<label>`, e.g. `+64055:+64055`. */
  label?: string;
  /** `<imagelabel>`. */
  imagelabel?: string;
}

/** Everything an instance's live XML shows beyond its definition. */
export interface LiveFacts {
  /** Host paths of character devices. */
  chardevs?: LiveChardev[];
  /** Graphics ports. */
  graphics?: LiveGraphics[];
  /** Disks' node indexes and backing chains. */
  disks?: LiveDisk[];
  /** `<resource><partition>`: the control group partition the instance runs in. */
  resourcePartition?: string;
  /** `<seclabel>` elements (they replace the definition's). */
  seclabels?: LiveSeclabel[];
}

/**
 * The live facts in a runtime record, or undefined when it has none (another driver, or a
 * record from before live facts).
 *
 * @example
 * ```ts
 * import { liveFactsOf } from "./live_facts.ts";
 * console.log(liveFactsOf({ driver: "qemu", live: { resourcePartition: "/machine" } }));
 * // { resourcePartition: "/machine" }
 * ```
 */
export function liveFactsOf(
  runtime: { readonly [key: string]: unknown } | null | undefined,
): LiveFacts | undefined {
  const value = runtime?.[LIVE_FACTS_KEY];
  if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
  return value as LiveFacts;
}

/**
 * The definition as the running instance shows it: the definition with its live facts laid
 * over it (pty and socket paths, VNC port and listen address, backing chains with node indexes,
 * `<resource>`, `<seclabel>`). Pure: returns a new object and leaves `definition` as it was.
 *
 * @param definition The definition the instance runs with.
 * @param facts The instance's live facts; undefined gives `definition` back.
 * @returns The live view.
 *
 * @example A console's pty
 * ```ts
 * import { emptyDevices } from "./domain.ts";
 * import { withLiveFacts } from "./live_facts.ts";
 * const devices = { ...emptyDevices(), consoles: [{ type: "pty", sources: [] }] };
 * const live = withLiveFacts(
 *   { type: "qemu", name: "demo", memoryKiB: 131072, vcpus: 1, os: { type: "hvm", boot: [] }, devices },
 *   { chardevs: [{ list: "consoles", index: 0, path: "/dev/pts/3", pty: true }] },
 * );
 * console.log(live.devices.consoles[0].tty); // "/dev/pts/3"
 * ```
 */
export function withLiveFacts(
  definition: DomainDefinition,
  facts: LiveFacts | undefined,
): DomainDefinition {
  if (facts === undefined) return definition;
  const devices: DomainDevices = { ...definition.devices };
  for (const chardev of facts.chardevs ?? []) applyChardev(devices, chardev);
  if (facts.graphics !== undefined) {
    devices.graphics = devices.graphics.map((graphics, index) =>
      withGraphicsFact(graphics, facts.graphics!.find((fact) => fact.index === index))
    );
  }
  if (facts.disks !== undefined) {
    devices.disks = devices.disks.map((disk, index) => {
      const fact = facts.disks!.find((each) => each.index === index);
      if (fact === undefined || disk.source === undefined) return disk;
      const live = { ...disk, source: { ...disk.source, index: fact.sourceIndex } };
      if (fact.sourceIndex === undefined) delete live.source.index;
      if (fact.backing !== undefined) live.backingStore = backingStoreOf(fact.backing);
      return live;
    });
  }
  const view: DomainDefinition = { ...definition, devices };
  const placed = placedWithFacts(definition, facts);
  if (placed !== undefined) view.extra = { ...definition.extra, elements: placed };
  return view;
}

function applyChardev(devices: DomainDevices, fact: LiveChardev): void {
  const list = devices[fact.list];
  const device = list[fact.index];
  if (device === undefined) return;
  const [first, ...rest] = device.sources;
  const source = first === undefined
    ? (device.type === "unix" ? { mode: "bind", path: fact.path } : { path: fact.path })
    : { ...first, path: fact.path };
  const live: Chardev = { ...device, sources: [source, ...rest] };
  if (fact.pty && fact.list === "consoles") live.tty = fact.path;
  const copy = [...list];
  copy[fact.index] = live;
  devices[fact.list] = copy;
}

function withGraphicsFact(graphics: Graphics, fact: LiveGraphics | undefined): Graphics {
  if (fact === undefined) return graphics;
  const live: Graphics = { ...graphics };
  if (fact.port !== undefined) live.port = fact.port;
  if (fact.websocket !== undefined) live.websocket = fact.websocket;
  if (fact.address !== undefined) {
    // libvirt's live XML names the bus it gave the display: `<graphics type='dbus' address=…>`.
    live.extra = {
      ...live.extra,
      attributes: { ...live.extra?.attributes, address: fact.address },
    };
  }
  if (fact.listen !== undefined) {
    live.listen ??= fact.listen;
    const open = live.listens.findIndex((listen) =>
      listen.type === "address" && listen.address === undefined
    );
    if (open >= 0) {
      live.listens = live.listens.map((listen, index) =>
        index === open ? { ...listen, address: fact.listen } : listen
      );
    } else if (live.listens.length === 0) {
      live.listens = [{ type: "address", address: fact.listen }];
    }
  }
  return live;
}

/** The nested `<backingStore>` of a chain, ending with the empty element that closes it. */
function backingStoreOf(layers: LiveBackingLayer[]): BackingStore {
  let store: BackingStore = {};
  for (let position = layers.length - 1; position >= 0; position--) {
    const layer = layers[position];
    const source = layer.type === "block"
      ? { dev: layer.path, hosts: [] }
      : { file: layer.path, hosts: [] };
    store = {
      type: layer.type,
      index: layer.index,
      format: layer.format,
      source,
      backingStore: store,
    };
  }
  return store;
}

/** Elements before `<resource>` in libvirt's order, latest first (its anchor candidates). */
const RESOURCE_ANCHORS = ["numatune", "cputune", "iothreadids", "iothreads", "vcpu", "memory"];

/** The domain's placed elements with `<resource>` and `<seclabel>`; undefined: unchanged. */
function placedWithFacts(
  definition: DomainDefinition,
  facts: LiveFacts,
): XmlPlacedElement[] | undefined {
  const original = definition.extra?.elements ?? [];
  let placed = original;
  const hasResource = original.some(({ element }) => element.name === "resource");
  if (facts.resourcePartition !== undefined && !hasResource) {
    const element: XmlElement = {
      name: "resource",
      children: [{ name: "partition", children: [facts.resourcePartition] }],
    };
    placed = [...placed, { after: resourceAnchor(definition), element }];
  }
  if (facts.seclabels !== undefined) {
    placed = placed.filter(({ element }) => element.name !== "seclabel");
    let after = "devices";
    facts.seclabels.forEach((label, position) => {
      placed.push({ after, element: seclabelElement(label) });
      after = position === 0 ? "seclabel" : `seclabel[${position + 1}]`;
    });
  }
  return placed === original ? undefined : placed;
}

function resourceAnchor(definition: DomainDefinition): string {
  const present = new Set<string>(["memory", "vcpu"]);
  if (definition.iothreads !== undefined) present.add("iothreads");
  if (definition.cputune !== undefined) present.add("cputune");
  if (definition.numatune !== undefined) present.add("numatune");
  for (const { element } of definition.extra?.elements ?? []) present.add(element.name);
  return RESOURCE_ANCHORS.find((name) => present.has(name)) ?? "memory";
}

function seclabelElement(label: LiveSeclabel): XmlElement {
  const attributes: Record<string, string> = { type: label.type, model: label.model };
  if (label.relabel !== undefined) attributes.relabel = label.relabel;
  const children: XmlElement[] = [];
  if (label.label !== undefined) children.push({ name: "label", children: [label.label] });
  if (label.imagelabel !== undefined) {
    children.push({ name: "imagelabel", children: [label.imagelabel] });
  }
  return children.length === 0 ? { name: "seclabel", attributes } : {
    name: "seclabel",
    attributes,
    children,
  };
}
