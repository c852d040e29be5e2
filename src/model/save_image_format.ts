/**
 * The save image formats, as libvirt's QEMU driver names and numbers them (`save_image_format`
 * in its qemu.conf; the number in a save image's header). How a stream is compressed is
 * `src/storage/save_compression.ts`.
 *
 * @module
 */

import { ErrorCode, VirtError } from "./errors.ts";

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
 * import { saveFormatNumber } from "./save_image_format.ts";
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
