/**
 * The compression of a save image's stream, as libvirt's QEMU driver names and numbers it
 * (`save_image_format` in its qemu.conf; the number in the image's header): the stream is piped
 * through the program of that name (`-c` to compress, `-dc` to expand).
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";

/** The formats by their number in the header (libvirt's `virQEMUSaveFormat`). */
export const SAVE_IMAGE_FORMATS = ["raw", "gzip", "bzip2", "xz", "lzop", "zstd"] as const;

/** A save image format's name. */
export type SaveImageFormat = typeof SAVE_IMAGE_FORMATS[number];

/**
 * The number of a format's name, as the header records it.
 *
 * @throws {VirtError} 67 for a name libvirt does not know.
 *
 * @example
 * ```ts
 * import { saveFormatNumber } from "./save_compression.ts";
 * console.log(saveFormatNumber("gzip")); // 1
 * ```
 */
export function saveFormatNumber(name: string): number {
  const number = (SAVE_IMAGE_FORMATS as readonly string[]).indexOf(name);
  if (number < 0) {
    throw new VirtError(
      ErrorCode.CONFIG_UNSUPPORTED,
      `Invalid save image format specified in configuration file: '${name}'`,
    );
  }
  return number;
}

/**
 * The program and its arguments that compress (`expand` false) or expand a stream of the
 * format numbered `number`; undefined for `raw`.
 *
 * @throws {VirtError} 9 for a number no format has (a foreign or damaged header).
 *
 * @example
 * ```ts
 * import { compressionCommand } from "./save_compression.ts";
 * console.log(compressionCommand(3, true)); // ["xz", "-dc"]
 * ```
 */
export function compressionCommand(number: number, expand: boolean): string[] | undefined {
  const name = SAVE_IMAGE_FORMATS[number];
  if (name === undefined) {
    throw new VirtError(ErrorCode.OPERATION_FAILED, `Invalid compressed save format ${number}`);
  }
  if (name === "raw") return undefined;
  return [name, expand ? "-dc" : "-c"];
}
