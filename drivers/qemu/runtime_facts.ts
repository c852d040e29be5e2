/**
 * What the QEMU driver learns while it starts an instance and libvirt shows in the live XML
 * ({@linkcode LiveFacts}): each disk's backing chain (read from the images before QEMU starts, so
 * QEMU is given one read-only node per image, as libvirt does), the node indexes libvirt numbers
 * images with, the pty paths QEMU allocated (`query-chardev`), the socket paths the driver chose,
 * the VNC ports QEMU listens on (`query-vnc-servers`) and the control group QEMU runs in.
 *
 * Everything here is computed once at start and recorded in the runtime record, so a restarted
 * service shows the same live XML without asking QEMU (replay runs no QMP).
 *
 * @module
 */

import type { BackingStore, Disk, DomainDefinition } from "../../src/model/domain.ts";
import type {
  LiveBackingLayer,
  LiveChardev,
  LiveDisk,
  LiveFacts,
  LiveGraphics,
} from "../../src/model/live_facts.ts";
import { type BackingLayer, readBackingChain } from "../../src/storage/backing_chain.ts";
import { Qcow2HeaderError } from "../../src/storage/qcow2_header.ts";
import { ErrorCode, isVirtError } from "../../src/model/errors.ts";
import type { ChardevSocket, PtyChardev } from "./argument_collector.ts";
import { VNC_LISTEN_DEFAULT } from "./device_arguments.ts";
import type { CommandLine } from "./command_line.ts";
import type { QmpCommands, QmpVncServerInfo } from "./qmp_commands.ts";

/** Options of {@linkcode withDetectedBackingChains}. */
export interface ChainDetectionOptions {
  /** Aborts the reads. */
  signal?: AbortSignal;
  /** Deadline of each image's read, in ms. Default: the storage module's. */
  timeoutMs?: number;
}

/**
 * The definition with each disk's backing chain filled in from its images, as libvirt does at
 * start: a raw image ends its chain (`<backingStore/>`), a qcow2 image's chain is read from the
 * headers; a chain the user wrote is kept; a chain of another format stays unknown (QEMU then
 * follows the image's own).
 *
 * @throws {VirtError} From {@linkcode readBackingChain}: 55 for an unnamed backing format, 67
 *   for a loop or a remote backing file, 38 when a backing image cannot be read. A top image
 *   that cannot be read, or an image whose header is not its format's, leaves the chain unknown
 *   (QEMU, or the host path check, then refuses it with its own message).
 *
 * @example
 * ```ts ignore
 * const running = await withDetectedBackingChains(definition, { signal });
 * running.devices.disks[0].backingStore; // { type: "file", format: "raw", source: {…}, backingStore: {} }
 * ```
 */
export async function withDetectedBackingChains(
  definition: DomainDefinition,
  options: ChainDetectionOptions = {},
): Promise<DomainDefinition> {
  const disks = await Promise.all(
    definition.devices.disks.map((disk) => withBackingChain(disk, options)),
  );
  if (disks.every((disk, index) => disk === definition.devices.disks[index])) return definition;
  return { ...definition, devices: { ...definition.devices, disks } };
}

async function withBackingChain(disk: Disk, options: ChainDetectionOptions): Promise<Disk> {
  if (disk.backingStore !== undefined) return disk;
  const path = disk.type === "block" ? disk.source?.dev : disk.source?.file;
  const type = disk.type ?? "file";
  if (path === undefined || path === "" || (type !== "file" && type !== "block")) return disk;
  let layers: BackingLayer[] | undefined;
  try {
    layers = await readBackingChain(path, disk.driver?.type ?? "raw", {
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    });
  } catch (error) {
    // As libvirt: an image that is not what its format says is QEMU's to refuse (with its own
    // message), and a top image that cannot be opened is refused by the host path check,
    // which names the element.
    if (error instanceof Qcow2HeaderError) return disk;
    if (isVirtError(error, ErrorCode.SYSTEM_ERROR) && error.where === path) return disk;
    throw error;
  }
  if (layers === undefined) return disk;
  return { ...disk, backingStore: nestedBackingStore(layers) };
}

function nestedBackingStore(layers: BackingLayer[]): BackingStore {
  let store: BackingStore = {};
  for (let position = layers.length - 1; position >= 0; position--) {
    const layer = layers[position];
    store = {
      type: layer.kind,
      format: layer.format,
      source: layer.kind === "block"
        ? { dev: layer.path, hosts: [] }
        : { file: layer.path, hosts: [] },
      backingStore: store,
    };
  }
  return store;
}

/**
 * Each disk's node indexes and known chain, numbered as libvirt 9.0 numbers them: disks from
 * the last to the first, each taking the next index for its top image (an empty drive too) and
 * then one per image of its chain.
 *
 * @param definition The definition as started (chains filled in).
 *
 * @example
 * ```ts ignore
 * diskFacts(running); // [{ index: 0, sourceIndex: 1, backing: [{ type: "file", path: "/b.raw", format: "raw", index: 2 }] }]
 * ```
 */
export function diskFacts(definition: DomainDefinition): LiveDisk[] {
  const disks = definition.devices.disks;
  const facts: LiveDisk[] = new Array(disks.length);
  let next = 1;
  for (let index = disks.length - 1; index >= 0; index--) {
    const disk = disks[index];
    const sourceIndex = next++;
    const path = disk.type === "block" ? disk.source?.dev : disk.source?.file;
    if (path === undefined || path === "") {
      facts[index] = { index };
      continue;
    }
    const fact: LiveDisk = { index, sourceIndex };
    const backing = knownChain(disk.backingStore);
    if (backing !== undefined) {
      fact.backing = backing.map((layer) => ({ ...layer, index: next++ }));
    }
    facts[index] = fact;
  }
  return facts;
}

/** The layers of a chain that ends (`<backingStore/>` at the bottom); undefined otherwise. */
function knownChain(
  store: BackingStore | undefined,
): Omit<LiveBackingLayer, "index">[] | undefined {
  const layers: Omit<LiveBackingLayer, "index">[] = [];
  for (let next = store; next !== undefined; next = next.backingStore) {
    const path = next.type === "block" ? next.source?.dev : next.source?.file;
    if (path === undefined) {
      return next.source === undefined && next.type === undefined ? layers : undefined;
    }
    layers.push({
      type: next.type === "block" ? "block" : "file",
      path,
      format: next.format ?? "raw",
    });
  }
  return undefined;
}

/**
 * The host paths of character devices: each pty QEMU allocated (by chardev id, from
 * `query-chardev`), also for a `<console>` that is the same device as a serial port, and each
 * socket the driver chose.
 *
 * @example
 * ```ts
 * import { chardevFacts } from "./runtime_facts.ts";
 * const ptys = [{ chardevId: "charserial0", alias: "serial0", console: true, place: { list: "serials" as const, index: 0 } }];
 * console.log(chardevFacts(ptys, [{ index: 0, chardevId: "charserial0" }], [], new Map([["charserial0", "/dev/pts/4"]])).length); // 2
 * ```
 */
export function chardevFacts(
  ptys: readonly PtyChardev[],
  sharedConsoles: readonly { index: number; chardevId: string }[],
  sockets: readonly ChardevSocket[],
  ptyPaths: ReadonlyMap<string, string>,
): LiveChardev[] {
  const facts: LiveChardev[] = [];
  for (const pty of ptys) {
    const path = ptyPaths.get(pty.chardevId);
    if (path !== undefined) facts.push({ ...pty.place, path, pty: true });
  }
  for (const shared of sharedConsoles) {
    const path = ptyPaths.get(shared.chardevId);
    if (path !== undefined) facts.push({ list: "consoles", index: shared.index, path, pty: true });
  }
  for (const socket of sockets) facts.push({ ...socket.place, path: socket.path, pty: false });
  return facts;
}

/**
 * The ports of the VNC console (the driver runs at most one) from `query-vnc-servers`, and the
 * listen address the driver chose when the definition named none.
 *
 * @example
 * ```ts
 * import { graphicsFacts } from "./runtime_facts.ts";
 * import { emptyDevices } from "../../src/model/domain.ts";
 * const definition = { type: "qemu", name: "vm", memoryKiB: 131072, vcpus: 1, os: { type: "hvm", boot: [] },
 *   devices: { ...emptyDevices(), graphics: [{ type: "vnc", port: -1, autoport: "yes", listens: [] }] } };
 * const servers = [{ id: "default", server: [{ host: "127.0.0.1", service: "5900", family: "ipv4", websocket: false }] }];
 * console.log(graphicsFacts(definition, servers)); // [{ index: 0, port: 5900, listen: "127.0.0.1" }]
 * ```
 */
export function graphicsFacts(
  definition: DomainDefinition,
  servers: readonly QmpVncServerInfo[],
): LiveGraphics[] {
  const index = definition.devices.graphics.findIndex((graphics) => graphics.type === "vnc");
  if (index < 0) return [];
  const graphics = definition.devices.graphics[index];
  const fact: LiveGraphics = { index };
  const addresses = servers[0]?.server ?? [];
  const plain = addresses.find((address) => !address.websocket && address.family !== "unix");
  const websocket = addresses.find((address) => address.websocket);
  if (plain !== undefined && /^\d+$/.test(plain.service)) fact.port = Number(plain.service);
  if (websocket !== undefined && /^\d+$/.test(websocket.service)) {
    fact.websocket = Number(websocket.service);
  }
  // The driver's default applies when neither the attribute nor a <listen> names where to listen.
  const named = graphics.listens.some((listen) =>
    listen.type !== "address" || listen.address !== undefined
  );
  if (graphics.listen === undefined && graphics.socket === undefined && !named) {
    fact.listen = VNC_LISTEN_DEFAULT;
  }
  return [fact];
}

/** The D-Bus display's live bus address, when it is the domain's private bus. */
function privateBusFacts(
  definition: DomainDefinition,
  address: string | undefined,
): LiveGraphics[] {
  if (address === undefined) return [];
  const index = definition.devices.graphics.findIndex((graphics) => graphics.type === "dbus");
  return index < 0 ? [] : [{ index, address }];
}

/**
 * The control group QEMU runs in (the unified hierarchy's path in `/proc/PID/cgroup`), which
 * the live XML shows as `<resource><partition>`; undefined when it cannot be read.
 *
 * @example
 * ```ts ignore
 * resourcePartitionOf(qemuPid); // "/system.slice/evirt.service"
 * ```
 */
export function resourcePartitionOf(pid: number): string | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(`/proc/${pid}/cgroup`);
  } catch {
    return undefined;
  }
  const unified = text.split("\n").find((line) => line.startsWith("0::"));
  const path = unified?.slice(3).trim();
  return path === undefined || !path.startsWith("/") ? undefined : path;
}

/** The ptys of a started QEMU: runtime record keys (`pty.<alias>`, `consolePty`), and by chardev. */
export interface PtyPaths {
  /** `pty.<alias>` and `consolePty` (null when the domain has no pty console). */
  record: Record<string, string | null>;
  /** Each pty's path by chardev id. */
  byChardev: Map<string, string>;
}

/**
 * Asks QEMU (`query-chardev`) for the pty paths it allocated.
 *
 * @example
 * ```ts ignore
 * const ptys = await queryPtyPaths(qmp, commandLine.ptyChardevs, signal);
 * ptys.record.consolePty; // "/dev/pts/3"
 * ```
 */
export async function queryPtyPaths(
  qmp: QmpCommands,
  ptys: readonly PtyChardev[],
  signal: AbortSignal,
): Promise<PtyPaths> {
  const record: Record<string, string | null> = { consolePty: null };
  const byChardev = new Map<string, string>();
  if (ptys.length === 0) return { record, byChardev };
  const chardevs = await qmp.queryChardev({ signal });
  for (const pty of ptys) {
    const filename = chardevs.find((each) => each.label === pty.chardevId)?.filename;
    if (filename === undefined || !filename.startsWith("pty:")) continue;
    const path = filename.slice("pty:".length);
    record[`pty.${pty.alias}`] = path;
    byChardev.set(pty.chardevId, path);
    if (pty.console && record.consolePty === null) record.consolePty = path;
  }
  return { record, byChardev };
}

/**
 * Everything the live XML shows beyond the definition, learnt once QEMU runs (the VNC ports
 * from `query-vnc-servers`), so that replay never needs to ask QEMU.
 *
 * @param qmp The started QEMU's monitor.
 * @param running The definition as started (backing chains filled in).
 * @param commandLine Its command line (ptys, shared consoles, chosen sockets).
 * @param pid QEMU's pid (for its control group).
 * @param ptys What {@linkcode queryPtyPaths} found.
 *
 * @example
 * ```ts ignore
 * const live = await learnLiveFacts(qmp, running, commandLine, pid, ptys, signal);
 * ```
 */
export async function learnLiveFacts(
  qmp: QmpCommands,
  running: DomainDefinition,
  commandLine: CommandLine,
  pid: number,
  ptys: PtyPaths,
  signal: AbortSignal,
): Promise<LiveFacts> {
  const hasVnc = running.devices.graphics.some((graphics) => graphics.type === "vnc");
  const servers = hasVnc ? await qmp.queryVncServers({ signal }) : [];
  const partition = resourcePartitionOf(pid);
  return {
    chardevs: chardevFacts(
      commandLine.ptyChardevs,
      commandLine.sharedConsoles,
      commandLine.chardevSockets,
      ptys.byChardev,
    ),
    graphics: [
      ...graphicsFacts(running, servers),
      ...privateBusFacts(running, commandLine.privateBusAddress),
    ],
    disks: diskFacts(running),
    ...(partition === undefined ? {} : { resourcePartition: partition }),
  };
}
