/**
 * The compression of a save image's stream, as libvirt's QEMU driver names and numbers it
 * (`save_image_format` in its qemu.conf; the number in the image's header): the stream is piped
 * through the program of that name (`-c` to compress, `-dc` to expand). The names and numbers
 * themselves are `src/model/save_image_format.ts` (the configuration reads them too).
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";
import { SAVE_IMAGE_FORMATS } from "../model/save_image_format.ts";

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
