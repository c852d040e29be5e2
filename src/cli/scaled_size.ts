/**
 * virsh's scaled sizes (`setmem 2G`, `blockresize vda 10G`): a decimal integer and an optional
 * unit suffix (`b`, `k`/`KiB` = 1024, `KB` = 1000, … up to `e`), a bare number being in the
 * verb's default unit. Errors as virsh prints them.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";
import { unitBytes } from "../model/units.ts";
import { ArgumentError } from "./arguments.ts";
import { CommandFailure } from "./command_failure.ts";

/** 2^64 - 1: the largest size virsh parses. */
export const SCALED_MAX = (1n << 64n) - 1n;

/**
 * The size `text` gives, in bytes.
 *
 * @param text The option's value, e.g. `2G`.
 * @param option The option's name, for messages (`size`).
 * @param defaultScale The bytes of one unit of a bare number (1024 for KiB).
 * @param max The largest size accepted, in bytes.
 * @throws {ArgumentError} For a value that is not a number.
 * @throws {CommandFailure} For an unknown suffix or a size above `max`, with libvirt's reason.
 *
 * @example
 * ```ts
 * import { scaledSize } from "./scaled_size.ts";
 * console.log(scaledSize("2G", "size", 1024n), scaledSize("10", "size", 1024n)); // 2147483648n 10240n
 * ```
 */
export function scaledSize(
  text: string,
  option: string,
  defaultScale: bigint,
  max: bigint = SCALED_MAX,
): bigint {
  const malformed =
    `Scaled numeric value '${text}' for <${option}> option is malformed or out of range`;
  const match = /^([0-9]+)(.*)$/.exec(text);
  if (match === null || BigInt(match[1]) > SCALED_MAX) {
    throw new ArgumentError(malformed, `--${option}`);
  }
  const value = BigInt(match[1]);
  const suffix = match[2];
  const scale = suffix === "" ? defaultScale : unitBytes(suffix);
  if (scale === undefined) {
    throw new CommandFailure(
      malformed,
      new VirtError(ErrorCode.INVALID_ARG, `unknown suffix '${suffix}'`, { where: `--${option}` }),
    );
  }
  if (value * scale > max) {
    throw new CommandFailure(
      malformed,
      new VirtError(ErrorCode.OVERFLOW, `value too large: ${value}${suffix}`, {
        where: `--${option}`,
      }),
    );
  }
  return value * scale;
}

/**
 * virsh's scaled figure (`vshPrettyCapacity` printed with three decimals): the value in the
 * largest binary unit it reaches.
 *
 * @example
 * ```ts
 * import { prettyFigure } from "./scaled_size.ts";
 * console.log(prettyFigure(1048576)); // "1.000 MiB"
 * ```
 */
export function prettyFigure(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(3)} ${units[unit]}`;
}
