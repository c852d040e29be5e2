/**
 * The save-image layout of libvirt 9.0's QEMU driver, so that an image saved by libvirtd restores
 * here and the reverse. A 92-byte header in the host's byte order (little-endian here):
 *
 * | offset | size | field |
 * | --- | --- | --- |
 * | 0 | 16 | magic: `LibvirtQemudSave` when complete, `LibvirtQemudPart` while being written |
 * | 16 | 4 | version (2) |
 * | 20 | 4 | data length: the domain XML and the cookie, NUL-terminated, plus padding |
 * | 24 | 4 | was running (1) or paused (0) when saved |
 * | 28 | 4 | compression (0: raw; others name a program libvirt pipes through) |
 * | 32 | 4 | cookie offset within the data (0: no cookie) |
 * | 36 | 56 | unused, zero |
 *
 * Then the data (the XML, the cookie, zeros up to the data length), then QEMU's migration
 * stream to the end of the file. libvirt pads the data with 64 KiB so a later
 * `save-image-define` can write a longer XML in place.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";

/** The magic of a complete image. */
export const SAVE_MAGIC = "LibvirtQemudSave";
/** The magic of an image whose stream is still being written (or was cut short). */
export const SAVE_PARTIAL_MAGIC = "LibvirtQemudPart";
/** The version written, and the highest one read. */
export const SAVE_VERSION = 2;
/** The header's size in bytes. */
export const SAVE_HEADER_BYTES = 92;
/** Room left after the XML for a longer one later (libvirt's 64 KiB). */
export const SAVE_PADDING_BYTES = 64 * 1024;
/** Largest data section read (XML plus cookie plus padding), a bound on a foreign file. */
export const SAVE_DATA_MAX_BYTES = 16 * 1024 * 1024;

/** What a save image's header and data say. */
export interface SaveImageHeader {
  /** Whether the stream is complete (`LibvirtQemudSave`). */
  complete: boolean;
  /** The header's version. */
  version: number;
  /** Bytes of data between the header and the stream. */
  dataBytes: number;
  /** Whether the guest ran when it was saved. */
  wasRunning: boolean;
  /** libvirt's compression number (0 raw). */
  compressed: number;
  /** The domain XML. */
  xml: string;
  /** The cookie (libvirt's `<qemu-migration>` text), empty when none. */
  cookie: string;
  /** Where the migration stream starts, in bytes from the file's start. */
  streamOffset: number;
}

/** What a new image's header and data hold. */
export interface SaveImageData {
  /** The domain XML. */
  xml: string;
  /** The cookie; absent or empty: none. */
  cookie?: string;
  /** Whether the guest ran when it was saved. */
  wasRunning: boolean;
  /**
   * The data length to keep (an existing image's, when its XML is replaced in place); absent:
   * the XML and cookie plus {@linkcode SAVE_PADDING_BYTES}.
   */
  dataBytes?: number;
  /** The stream's compression (`save_compression.ts` numbers); absent: 0, raw. */
  compressed?: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: false });

/**
 * The header and data of an image, with the partial magic unless `complete`.
 *
 * @throws {VirtError} OPERATION_FAILED when `dataBytes` is too small for the XML and cookie.
 *
 * @example
 * ```ts
 * import { encodeSaveHeader, SAVE_HEADER_BYTES, SAVE_PADDING_BYTES } from "./save_image.ts";
 * const bytes = encodeSaveHeader({ xml: "<domain/>", wasRunning: true }, false);
 * console.log(bytes.length === SAVE_HEADER_BYTES + 10 + SAVE_PADDING_BYTES); // true
 * ```
 */
export function encodeSaveHeader(data: SaveImageData, complete: boolean): Uint8Array {
  const xml = encoder.encode(data.xml + "\0");
  const cookie = data.cookie ? encoder.encode(data.cookie + "\0") : new Uint8Array(0);
  const used = xml.length + cookie.length;
  const dataBytes = data.dataBytes ?? used + SAVE_PADDING_BYTES;
  if (used > dataBytes) {
    throw new VirtError(ErrorCode.OPERATION_FAILED, "new xml too large to fit in file");
  }
  const bytes = new Uint8Array(SAVE_HEADER_BYTES + dataBytes);
  bytes.set(encoder.encode(complete ? SAVE_MAGIC : SAVE_PARTIAL_MAGIC), 0);
  const view = new DataView(bytes.buffer);
  view.setUint32(16, SAVE_VERSION, true);
  view.setUint32(20, dataBytes, true);
  view.setUint32(24, data.wasRunning ? 1 : 0, true);
  view.setUint32(28, data.compressed ?? 0, true);
  view.setUint32(32, cookie.length === 0 ? 0 : xml.length, true);
  bytes.set(xml, SAVE_HEADER_BYTES);
  bytes.set(cookie, SAVE_HEADER_BYTES + xml.length);
  return bytes;
}

/** The complete magic, written over the partial one once the stream is in the file. */
export function completeMagic(): Uint8Array {
  return encoder.encode(SAVE_MAGIC);
}

function failed(message: string): VirtError {
  return new VirtError(ErrorCode.OPERATION_FAILED, message);
}

/** Text up to the first NUL. */
function untilNul(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return decoder.decode(end === -1 ? bytes : bytes.subarray(0, end));
}

/**
 * Reads the header and data of the image at `path`, with libvirt's errors for a file that is
 * not one (code 9: `failed to read qemu header`, `image magic is incorrect`, `save image is
 * incomplete`, `image version is not supported`, `failed to read domain XML`). An incomplete
 * image is answered (with `complete` false) only when `allowPartial`.
 *
 * @throws {VirtError} SYSTEM_ERROR (38) when the file cannot be opened; OPERATION_FAILED (9) as
 *   above.
 *
 * @example
 * ```ts ignore
 * const header = await readSaveHeader("/var/lib/save/web.save");
 * console.log(header.wasRunning, header.streamOffset);
 * ```
 */
export async function readSaveHeader(
  path: string,
  options: { allowPartial?: boolean } = {},
): Promise<SaveImageHeader> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    throw new VirtError(
      ErrorCode.SYSTEM_ERROR,
      `Failed to open file '${path}': ${systemReason(error)}`,
      { cause: error },
    );
  }
  try {
    const head = await readExactly(file, SAVE_HEADER_BYTES);
    if (head === undefined) throw failed("failed to read qemu header");
    const parsed = parseSaveHeader(head);
    if (!parsed.complete && options.allowPartial !== true) {
      throw failed("save image is incomplete");
    }
    if (parsed.dataBytes > SAVE_DATA_MAX_BYTES) {
      throw failed(`invalid header data length: ${parsed.dataBytes}`);
    }
    const data = await readExactly(file, parsed.dataBytes);
    const xmlBytes = parsed.cookieOffset === 0 ? parsed.dataBytes : parsed.cookieOffset;
    if (data === undefined || data.length < xmlBytes) throw failed("failed to read domain XML");
    const xml = untilNul(data.subarray(0, xmlBytes));
    const cookie = parsed.cookieOffset === 0 ? "" : untilNul(data.subarray(xmlBytes));
    return {
      complete: parsed.complete,
      version: parsed.version,
      dataBytes: parsed.dataBytes,
      wasRunning: parsed.wasRunning,
      compressed: parsed.compressed,
      xml,
      cookie,
      streamOffset: SAVE_HEADER_BYTES + parsed.dataBytes,
    };
  } finally {
    file.close();
  }
}

/**
 * The fields of a 92-byte header, checked as libvirt checks them.
 *
 * @throws {VirtError} OPERATION_FAILED for a wrong magic, version or data length.
 */
export function parseSaveHeader(head: Uint8Array): {
  complete: boolean;
  version: number;
  dataBytes: number;
  wasRunning: boolean;
  compressed: number;
  cookieOffset: number;
} {
  if (head.length < SAVE_HEADER_BYTES) throw failed("failed to read qemu header");
  const magic = decoder.decode(head.subarray(0, 16));
  if (magic !== SAVE_MAGIC && magic !== SAVE_PARTIAL_MAGIC) {
    throw failed("image magic is incorrect");
  }
  const view = new DataView(head.buffer, head.byteOffset, SAVE_HEADER_BYTES);
  let littleEndian = true;
  let version = view.getUint32(16, true);
  // libvirt swaps the byte order of a header written on a host of the other order.
  if (version > SAVE_VERSION) {
    littleEndian = false;
    version = view.getUint32(16, false);
  }
  if (version > SAVE_VERSION) {
    throw failed(`image version is not supported (${version} > ${SAVE_VERSION})`);
  }
  const dataBytes = view.getInt32(20, littleEndian);
  if (dataBytes <= 0) throw failed(`invalid header data length: ${dataBytes}`);
  const cookieOffset = view.getUint32(32, littleEndian);
  if (cookieOffset > dataBytes) throw failed("failed to read cookie");
  return {
    complete: magic === SAVE_MAGIC,
    version,
    dataBytes,
    wasRunning: view.getUint32(24, littleEndian) !== 0,
    compressed: view.getUint32(28, littleEndian),
    cookieOffset,
  };
}

/** Exactly `bytes` bytes from the file's position; undefined when the file ends first. */
export async function readExactly(
  file: Deno.FsFile,
  bytes: number,
): Promise<Uint8Array | undefined> {
  const buffer = new Uint8Array(bytes);
  let filled = 0;
  while (filled < bytes) {
    const count = await file.read(buffer.subarray(filled));
    if (count === null) return undefined;
    filled += count;
  }
  return buffer;
}

/** The system's words for an I/O error (`Permission denied`, `No such file or directory`). */
export function systemReason(error: unknown): string {
  if (error instanceof Deno.errors.PermissionDenied) return "Permission denied";
  if (error instanceof Deno.errors.NotFound) return "No such file or directory";
  if (error instanceof Deno.errors.IsADirectory) return "Is a directory";
  if (error instanceof Deno.errors.AlreadyExists) return "File exists";
  return (error as Error).message;
}

/**
 * Replaces the XML of a complete image in place (`save-image-define`), keeping its data length
 * and everything after; `wasRunning` changes the state the restore leaves the guest in.
 *
 * @throws {VirtError} As {@linkcode readSaveHeader}; OPERATION_FAILED when the new XML does not
 *   fit.
 */
export async function rewriteSaveHeader(
  path: string,
  xml: string,
  wasRunning?: boolean,
): Promise<void> {
  const header = await readSaveHeader(path);
  const bytes = encodeSaveHeader({
    xml,
    cookie: header.cookie,
    wasRunning: wasRunning ?? header.wasRunning,
    dataBytes: header.dataBytes,
  }, true);
  // The compression field is kept as it was.
  new DataView(bytes.buffer).setUint32(28, header.compressed, true);
  const file = await Deno.open(path, { write: true });
  try {
    let written = 0;
    while (written < bytes.length) written += await file.write(bytes.subarray(written));
    await file.sync();
  } finally {
    file.close();
  }
}
