/**
 * libvirt's CPU and id sets (`0-3,^2,8`): parsing to sorted ids and formatting back to ranges.
 *
 * @module
 */

import { ErrorCode, VirtError } from "./errors.ts";

/** Largest id a set may name; libvirt's CPU masks stop at this size too. */
export const CPU_SET_ID_MAX = 16383;

const TERM = /^(\^)?([0-9]+)(?:-([0-9]+))?$/;

/**
 * Parses a set such as `0-3,^2,8` into its ids, ascending.
 *
 * @param text The set.
 * @returns The ids, sorted and unique.
 * @throws {VirtError} Code 8 when the text is not a set or names an id above {@linkcode CPU_SET_ID_MAX}.
 *
 * @example
 * ```ts
 * import { parseCpuSet } from "./cpu_set.ts";
 * console.log(parseCpuSet("0-3,^2,8")); // [0, 1, 3, 8]
 * ```
 */
export function parseCpuSet(text: string): number[] {
  const included = new Set<number>();
  const excluded = new Set<number>();
  const terms = text.split(",");
  for (const raw of terms) {
    const match = TERM.exec(raw.trim());
    if (match === null) {
      throw new VirtError(ErrorCode.INVALID_ARG, `failed to parse bitmap '${text}'`);
    }
    const first = Number(match[2]);
    const last = match[3] === undefined ? first : Number(match[3]);
    if (
      last > CPU_SET_ID_MAX || first > last || (match[1] !== undefined && match[3] !== undefined)
    ) {
      throw new VirtError(ErrorCode.INVALID_ARG, `failed to parse bitmap '${text}'`);
    }
    for (let id = first; id <= last; id++) (match[1] === undefined ? included : excluded).add(id);
  }
  return [...included].filter((id) => !excluded.has(id)).sort((a, b) => a - b);
}

/**
 * Formats ids as libvirt does: ascending ranges, `0-1,3`.
 *
 * @example
 * ```ts
 * import { formatCpuSet } from "./cpu_set.ts";
 * console.log(formatCpuSet([3, 0, 1])); // "0-1,3"
 * ```
 */
export function formatCpuSet(ids: readonly number[]): string {
  const sorted = [...new Set(ids)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let index = 0; index < sorted.length;) {
    let end = index;
    while (end + 1 < sorted.length && sorted[end + 1] === sorted[end] + 1) end++;
    parts.push(end === index ? `${sorted[index]}` : `${sorted[index]}-${sorted[end]}`);
    index = end + 1;
  }
  return parts.join(",");
}
