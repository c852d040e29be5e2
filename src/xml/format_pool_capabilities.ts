/**
 * `<storagepoolCapabilities>` as libvirt 9.0 writes it (`virsh pool-capabilities`): every pool
 * type in libvirt's order, whether this host supports it, and the source and volume formats each
 * type takes with their defaults, from the same table the pool and volume XML use.
 *
 * @module
 */

import { POOL_TYPE_INFO, POOL_TYPES, type PoolType } from "../model/storage_pool.ts";
import { LineBuffer } from "./storage_xml_common.ts";

/**
 * Writes the capabilities document.
 *
 * @param supported The pool types this host has a backend for.
 *
 * @example
 * ```ts
 * import { formatPoolCapabilities } from "./format_pool_capabilities.ts";
 * console.log(formatPoolCapabilities(new Set(["dir"])).split("\n")[1]); // "  <pool type='dir' supported='yes'>"
 * ```
 */
export function formatPoolCapabilities(supported: ReadonlySet<PoolType>): string {
  const out = new LineBuffer();
  out.open("<storagepoolCapabilities>");
  for (const type of POOL_TYPES) {
    const info = POOL_TYPE_INFO[type];
    out.open(`<pool type='${type}' supported='${supported.has(type) ? "yes" : "no"}'>`);
    if (info.sourceFormats.length > 0) {
      formatOptions(
        out,
        "poolOptions",
        "sourceFormatType",
        info.sourceFormats,
        info.sourceFormatDefault,
      );
    }
    if (info.volumeFormats.length > 0) {
      formatOptions(
        out,
        "volOptions",
        "targetFormatType",
        info.volumeFormatsListed ? info.volumeFormats : [],
        info.volumeFormatDefault,
        info.volumeFormats[info.volumeFormatDefault],
      );
    }
    out.close("</pool>");
  }
  out.close("</storagepoolCapabilities>");
  return out.text();
}

function formatOptions(
  out: LineBuffer,
  element: string,
  enumName: string,
  values: readonly string[],
  defaultIndex: number,
  defaultValue = values[defaultIndex],
): void {
  out.open(`<${element}>`);
  out.line(`<defaultFormat type='${defaultValue}'/>`);
  out.open(`<enum name='${enumName}'>`);
  for (const value of values) out.line(`<value>${value}</value>`);
  out.close("</enum>");
  out.close(`</${element}>`);
}
