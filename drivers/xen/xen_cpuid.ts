/**
 * CPU feature names as libvirt writes them and as libxl's `cpuid=` option spells them, where
 * the two differ (libvirt's `xenTranslateCPUFeature`).
 *
 * @module
 */

const LIBVIRT_TO_LIBXL: ReadonlyArray<readonly [string, string]> = [
  ["cx16", "cmpxchg16"],
  ["cid", "cntxid"],
  ["ds_cpl", "dscpl"],
  ["pclmuldq", "pclmulqdq"],
  ["pni", "sse3"],
  ["ht", "htt"],
  ["pn", "psn"],
  ["clflush", "clfsh"],
  ["sep", "sysenter"],
  ["cx8", "cmpxchg8"],
  ["nodeid_msr", "nodeid"],
  ["cr8legacy", "altmovcr8"],
  ["lahf_lm", "lahfsahf"],
  ["cmp_legacy", "cmplegacy"],
  ["fxsr_opt", "ffxsr"],
  ["pdpe1gb", "page1gb"],
  ["spec-ctrl", "ibrsb"],
];

/**
 * Translates a feature name: from libxl's spelling to libvirt's when `fromLibxl`, else the
 * other way; names spelt alike pass through.
 *
 * @example
 * ```ts
 * import { libxlFeatureName } from "./xen_cpuid.ts";
 * libxlFeatureName("sse3", true); // "pni"
 * ```
 */
export function libxlFeatureName(name: string, fromLibxl: boolean): string {
  const row = LIBVIRT_TO_LIBXL.find((pair) => pair[fromLibxl ? 1 : 0] === name);
  return row === undefined ? name : row[fromLibxl ? 0 : 1];
}
