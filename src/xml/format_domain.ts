/**
 * `formatDomainXml`: {@linkcode DomainDefinition} → libvirt domain XML text.
 *
 * @module
 */

import { perfEventsInOrder } from "../model/perf_events.ts";
import type { DomainDefinition, DomainDevices, Graphics } from "../model/domain.ts";
import { DOMAIN } from "../model/domain_schema.ts";
import { encodeElement } from "./element_encode.ts";
import { writeXml } from "./xml_writer.ts";

/** Options of {@linkcode formatDomainXml}. */
export interface FormatDomainOptions {
  /**
   * The persistent configuration rather than a running domain's live XML: no `id`, and only
   * user-chosen device aliases (`ua-…`). Default false.
   */
  inactive?: boolean;
  /** Include secrets (graphics passwords). Default false. */
  secure?: boolean;
  /** The id of the running domain, written as `<domain id='N'>` unless `inactive`. */
  id?: number;
}

/** The prefix of device aliases a user chose; libvirt keeps those in inactive XML. */
const USER_ALIAS_PREFIX = "ua-";

/**
 * Formats a definition as libvirt does: libvirt's element order, sizes with `unit='KiB'`, PCI
 * address parts in hex, two-space indentation; whatever the model keeps in `extra` goes back in
 * place.
 *
 * @param def The definition.
 * @param options Inactive or live, secure, the running domain's id.
 * @returns The XML text, ending with a newline.
 *
 * @example Formatting a parsed definition
 * ```ts
 * import { formatDomainXml } from "./format_domain.ts";
 * import { parseDomainXml } from "./parse_domain.ts";
 * const def = parseDomainXml("<domain type='qemu'><name>demo</name><memory unit='MiB'>512</memory><os><type>hvm</type></os></domain>");
 * console.log(formatDomainXml(def, { id: 3 }));
 * // <domain type='qemu' id='3'>
 * //   <name>demo</name>
 * //   <memory unit='KiB'>524288</memory>
 * //   <os>
 * //     <type>hvm</type>
 * //   </os>
 * // </domain>
 * ```
 */
export function formatDomainXml(def: DomainDefinition, options: FormatDomainOptions = {}): string {
  const view: DomainDefinition = { ...def };
  if (view.perf !== undefined) view.perf = perfEventsInOrder(view.perf);
  if (options.inactive === true) delete view.id;
  else if (options.id !== undefined) view.id = options.id;
  if (options.inactive === true || options.secure !== true) {
    view.devices = deviceView(def.devices, options.inactive === true, options.secure === true);
  }
  const text = writeXml(
    encodeElement(DOMAIN, view as unknown as Record<string, unknown>, "domain"),
  );
  // libvirt writes the domain's devices element with an open and a close tag, even when empty.
  return text.replace(EMPTY_DEVICES, "\n  <devices>\n  </devices>\n");
}

/** The domain's own `<devices/>` (a child of the root, so indented by two spaces). */
const EMPTY_DEVICES = /\n {2}<devices\/>\n/;

/** The devices as formatted: without passwords unless secure, without runtime aliases when inactive. */
function deviceView(devices: DomainDevices, inactive: boolean, secure: boolean): DomainDevices {
  const view = { ...devices } as unknown as Record<string, unknown>;
  if (!secure) view.graphics = graphicsWithoutPasswords(devices.graphics);
  if (inactive) {
    // A running block job's `<mirror>` is live only.
    if (devices.disks.some((disk) => disk.mirror !== undefined)) {
      view.disks = devices.disks.map((disk) => {
        if (disk.mirror === undefined) return disk;
        const { mirror: _live, ...rest } = disk;
        return rest;
      });
    }
    for (const [key, value] of Object.entries(view)) {
      if (Array.isArray(value)) view[key] = value.map(withoutRuntimeAlias);
      else if (key === "memballoon" && value !== undefined) view[key] = withoutRuntimeAlias(value);
    }
  }
  return view as unknown as DomainDevices;
}

/**
 * The graphics consoles without their `passwd` (what the XML leaves out without `secure`).
 *
 * @example
 * ```ts ignore
 * const shown = graphicsWithoutPasswords(definition.devices.graphics);
 * ```
 */
export function graphicsWithoutPasswords(graphics: Graphics[]): Graphics[] {
  return graphics.map((console) => {
    if (console.passwd === undefined) return console;
    const { passwd: _secret, ...rest } = console;
    return rest;
  });
}

function withoutRuntimeAlias<T>(device: T): T {
  const alias = (device as { alias?: string }).alias;
  if (alias === undefined || alias.startsWith(USER_ALIAS_PREFIX)) return device;
  const { alias: _runtime, ...rest } = device as { alias?: string };
  return rest as T;
}
