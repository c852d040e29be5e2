/**
 * libvirt's size units (`unit='GiB'`) and their conversion to bytes and KiB.
 *
 * libvirt reads a unit case-insensitively: `b`, `byte`, `bytes` are bytes; a power letter
 * `k m g t p e` alone or followed by `iB` is a power of 1024 (`k`, `KiB`, `M`, `MiB`); the
 * letter followed by `B` alone is a power of 1000 (`KB`, `MB`). Sizes that do not fall on a
 * KiB boundary round up, as libvirt does.
 *
 * @module
 */

import { ErrorCode, VirtError } from "./errors.ts";

const POWERS: Readonly<Record<string, number>> = { k: 1, m: 2, g: 3, t: 4, p: 5, e: 6 };
const KIB = 1024n;

/**
 * Bytes in one `unit`, or undefined when libvirt does not know the unit.
 *
 * @param unit A unit as written in XML, e.g. `KiB`, `M`, `GB`, `bytes`.
 *
 * @example
 * ```ts
 * import { unitBytes } from "./units.ts";
 * console.log(unitBytes("MiB"), unitBytes("MB"), unitBytes("furlong")); // 1048576n 1000000n undefined
 * ```
 */
export function unitBytes(unit: string): bigint | undefined {
  const lower = unit.toLowerCase();
  if (lower === "b" || lower === "byte" || lower === "bytes") return 1n;
  const power = POWERS[lower.charAt(0)];
  if (power === undefined) return undefined;
  const rest = lower.slice(1);
  if (rest === "" || rest === "ib") return 1024n ** BigInt(power);
  if (rest === "b") return 1000n ** BigInt(power);
  return undefined;
}

/**
 * Converts `value` `unit`s to KiB, rounding up to a whole KiB.
 *
 * @param value The amount, a non-negative integer.
 * @param unit The unit; absent means `defaultUnit`.
 * @param defaultUnit The unit of a bare number (libvirt's is KiB for memory).
 * @returns The size in KiB.
 * @throws {VirtError} Code 8 when the unit is unknown or the size exceeds 2^53 - 1 KiB.
 *
 * @example
 * ```ts
 * import { toKiB } from "./units.ts";
 * console.log(toKiB(2n, "GiB"), toKiB(1000n, "b"), toKiB(4n, undefined)); // 2097152 1 4
 * ```
 */
export function toKiB(value: bigint, unit: string | undefined, defaultUnit = "KiB"): number {
  if (value < 0n) throw new VirtError(ErrorCode.INVALID_ARG, `invalid negative size ${value}`);
  const scale = unitBytes(unit ?? defaultUnit);
  if (scale === undefined) throw new VirtError(ErrorCode.INVALID_ARG, `unknown suffix '${unit}'`);
  const kib = (value * scale + KIB - 1n) / KIB;
  if (kib > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new VirtError(ErrorCode.INVALID_ARG, `value too large: ${value}${unit ?? ""}`);
  }
  return Number(kib);
}

/**
 * Converts a size in KiB to bytes.
 *
 * @example
 * ```ts
 * import { kibToBytes } from "./units.ts";
 * console.log(kibToBytes(4)); // 4096n
 * ```
 */
export function kibToBytes(kib: number): bigint {
  if (!Number.isSafeInteger(kib) || kib < 0) {
    throw new RangeError(`Size must be a non-negative safe integer, received ${kib}`);
  }
  return BigInt(kib) * KIB;
}
