/**
 * Shared pieces of the `validateDomain` checks: the error they throw and set parsing that
 * reports where a malformed set is.
 *
 * @module
 */

import { type CpuSetBudget, parseCpuSet } from "../model/cpu_set.ts";
import { ErrorCode, type ErrorCodeValue, VirtError } from "../model/errors.ts";

/**
 * A validation failure at `where` (an element path).
 *
 * @param code The libvirt error code.
 * @param message The message, in libvirt's wording.
 * @param where The element path, e.g. `/domain/devices/disk[2]/target`.
 *
 * @example
 * ```ts
 * import { invalid } from "./validation_failure.ts";
 * console.log(invalid(27, "missing name information", "/domain/name").where); // "/domain/name"
 * ```
 */
export function invalid(code: ErrorCodeValue, message: string, where: string): VirtError {
  return new VirtError(code, message, { where });
}

/**
 * Parses an id set (`0-3,^2`) against the definition's `budget`, reporting a malformed or
 * oversized one at `where` (code 27).
 *
 * @example
 * ```ts
 * import { parseCpuSetAt } from "./validation_failure.ts";
 * import { cpuSetBudget } from "../model/cpu_set.ts";
 * console.log(parseCpuSetAt("0-1", "/domain/cputune", cpuSetBudget())); // [0, 1]
 * ```
 */
export function parseCpuSetAt(text: string, where: string, budget: CpuSetBudget): number[] {
  try {
    return parseCpuSet(text, budget);
  } catch (error) {
    if (error instanceof VirtError) throw invalid(ErrorCode.XML_ERROR, error.message, where);
    throw error;
  }
}
