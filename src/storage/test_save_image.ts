/**
 * The save-image layout of libvirt 9.0's test driver (`test:///default`), so that an image saved
 * by `virsh -c test:///default save` restores on evirt's test hypervisor and the reverse:
 *
 * | offset | size | field |
 * | --- | --- | --- |
 * | 0 | 15 | magic: `TestGuestMagic` and its NUL |
 * | 15 | 4 | the XML's length in bytes, in the host's byte order (little-endian here) |
 * | 19 | length | the domain XML, without a NUL |
 *
 * The test hypervisor has no memory to keep, so the XML is all there is. libvirt reads at most
 * {@linkcode TEST_SAVE_XML_MAX_BYTES} of XML; so does this module, with libvirt's errors.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";
import { readExactly } from "./save_image.ts";
import { storageSystemError } from "./storage_info.ts";

/** The magic, NUL included (libvirt writes `sizeof` of the C string). */
export const TEST_SAVE_MAGIC = "TestGuestMagic\0";
/** The magic's length in bytes. */
export const TEST_SAVE_MAGIC_BYTES = 15;
/** Longest XML libvirt's test driver reads back. */
export const TEST_SAVE_XML_MAX_BYTES = 8192;

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: false });

/**
 * The bytes of an image carrying `xml`.
 *
 * @example
 * ```ts
 * import { encodeTestSaveImage } from "./test_save_image.ts";
 * console.log(encodeTestSaveImage("<domain/>").length); // 28
 * ```
 */
export function encodeTestSaveImage(xml: string): Uint8Array {
  const text = encoder.encode(xml);
  const bytes = new Uint8Array(TEST_SAVE_MAGIC_BYTES + 4 + text.length);
  bytes.set(encoder.encode(TEST_SAVE_MAGIC), 0);
  new DataView(bytes.buffer).setInt32(TEST_SAVE_MAGIC_BYTES, text.length, true);
  bytes.set(text, TEST_SAVE_MAGIC_BYTES + 4);
  return bytes;
}

/**
 * Writes the image of domain `name` to `path` (created with mode 0600 or truncated); a failed
 * write removes the file, as libvirt's.
 *
 * @throws {VirtError} 38 `saving domain '…' to '…': open failed: …` or `… write failed: …`.
 */
export async function writeTestSaveImage(path: string, name: string, xml: string): Promise<void> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { write: true, create: true, truncate: true, mode: 0o600 });
  } catch (error) {
    throw storageSystemError(`saving domain '${name}' to '${path}': open failed`, path, error);
  }
  try {
    const bytes = encodeTestSaveImage(xml);
    let written = 0;
    while (written < bytes.length) written += await file.write(bytes.subarray(written));
    file.close();
  } catch (error) {
    try {
      file.close();
    } catch {
      // Already closed.
    }
    await Deno.remove(path).catch(() => undefined);
    throw storageSystemError(`saving domain '${name}' to '${path}': write failed`, path, error);
  }
}

/**
 * Whether `bytes` (a file's start) begin with the test layout's magic.
 *
 * @example
 * ```ts
 * import { encodeTestSaveImage, isTestSaveImage } from "./test_save_image.ts";
 * console.log(isTestSaveImage(encodeTestSaveImage("<domain/>"))); // true
 * ```
 */
export function isTestSaveImage(bytes: Uint8Array): boolean {
  return bytes.length >= TEST_SAVE_MAGIC_BYTES &&
    decoder.decode(bytes.subarray(0, TEST_SAVE_MAGIC_BYTES)) === TEST_SAVE_MAGIC;
}

/**
 * Reads the XML of the image at `path`, with libvirt's test driver's errors.
 *
 * @throws {VirtError} 38 `cannot read domain image '…': …`, `incomplete save header in '…':
 *   Success`, `failed to read metadata length in '…': Success`, `incomplete metadata in '…':
 *   Success`; 1 `mismatched header magic`, `length of metadata out of range`.
 *
 * @example
 * ```ts ignore
 * const xml = await readTestSaveImage("/tmp/test.img");
 * ```
 */
export async function readTestSaveImage(path: string): Promise<string> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    throw storageSystemError(`cannot read domain image '${path}'`, path, error);
  }
  try {
    // A short read at end of file leaves errno 0: libvirt's message then ends in "Success".
    const short = (what: string) =>
      new VirtError(ErrorCode.SYSTEM_ERROR, `${what} in '${path}': Success`, { where: path });
    const magic = await readExactly(file, TEST_SAVE_MAGIC_BYTES);
    if (magic === undefined) throw short("incomplete save header");
    if (!isTestSaveImage(magic)) {
      throw new VirtError(ErrorCode.INTERNAL_ERROR, "mismatched header magic", { where: path });
    }
    const lengthBytes = await readExactly(file, 4);
    if (lengthBytes === undefined) throw short("failed to read metadata length");
    const length = new DataView(lengthBytes.buffer).getInt32(0, true);
    if (length < 1 || length > TEST_SAVE_XML_MAX_BYTES) {
      throw new VirtError(ErrorCode.INTERNAL_ERROR, "length of metadata out of range", {
        where: path,
      });
    }
    const xml = await readExactly(file, length);
    if (xml === undefined) throw short("incomplete metadata");
    return decoder.decode(xml);
  } finally {
    file.close();
  }
}
