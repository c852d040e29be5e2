/**
 * libvirt's CPU and id sets (`0-3,^2,8`): parsing to sorted ids and formatting back to ranges.
 *
 * @module
 */

import { ErrorCode, VirtError } from "./errors.ts";

/** Largest id a set may name; libvirt's CPU masks stop at this size too. */
export const CPU_SET_ID_MAX = 16383;

/**
 * Ids all the sets of one definition may expand to together: far above any real definition
 * (a host-sized one names a few thousand), low enough that a hostile one cannot stall us.
 */
export const CPU_SET_IDS_PER_DEFINITION_MAX = 1 << 22;

/** What is left of a definition's allowance of set ids; see {@linkcode CPU_SET_IDS_PER_DEFINITION_MAX}. */
export interface CpuSetBudget {
  /** Ids the remaining sets may still expand to. */
  idsLeft: number;
}

/**
 * A fresh allowance for one definition.
 *
 * @example
 * ```ts
 * import { cpuSetBudget } from "./cpu_set.ts";
 * console.log(cpuSetBudget().idsLeft); // 4194304
 * ```
 */
export function cpuSetBudget(): CpuSetBudget {
  return { idsLeft: CPU_SET_IDS_PER_DEFINITION_MAX };
}

const TERM = /^(\^)?([0-9]+)(?:-([0-9]+))?$/;

/**
 * Parses a set such as `0-3,^2,8` into its ids, ascending. Exclusions apply to the whole set.
 *
 * @param text The set.
 * @param budget The definition's allowance, charged with the ids the set names.
 * @returns The ids, sorted and unique.
 * @throws {VirtError} Code 8 when the text is not a set, names an id above
 *   {@linkcode CPU_SET_ID_MAX}, or overdraws the budget.
 *
 * @example
 * ```ts
 * import { parseCpuSet } from "./cpu_set.ts";
 * console.log(parseCpuSet("0-3,^2,8")); // [0, 1, 3, 8]
 * ```
 */
export function parseCpuSet(text: string, budget: CpuSetBudget = cpuSetBudget()): number[] {
  const ranges: [number, number, boolean][] = [];
  let named = 0;
  for (const raw of text.split(",")) {
    const match = TERM.exec(raw.trim());
    const first = Number(match?.[2]);
    const last = match?.[3] === undefined ? first : Number(match[3]);
    const excluded = match?.[1] !== undefined;
    if (
      match === null || last > CPU_SET_ID_MAX || first > last ||
      (excluded && match[3] !== undefined)
    ) {
      throw new VirtError(ErrorCode.INVALID_ARG, `failed to parse bitmap '${text}'`);
    }
    ranges.push([first, last, excluded]);
    named += last - first + 1;
  }
  if (named > budget.idsLeft) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      `CPU sets of this definition name more than ${CPU_SET_IDS_PER_DEFINITION_MAX} ids`,
    );
  }
  budget.idsLeft -= named;
  const excluded = new Set(ranges.filter(([, , exclude]) => exclude).map(([id]) => id));
  const ids: number[] = [];
  for (const [first, last, exclude] of ranges) {
    if (exclude) continue;
    for (let id = first; id <= last; id++) if (!excluded.has(id)) ids.push(id);
  }
  ids.sort((a, b) => a - b);
  return ids.filter((id, index) => index === 0 || ids[index - 1] !== id);
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
