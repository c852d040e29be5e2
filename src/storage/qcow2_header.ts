/**
 * The qcow2 header, read by us: enough to know an image's virtual size (the capacity the guest
 * sees) and to refuse a file that is not a sound qcow2 image.
 *
 * Layout (big-endian): magic `QFI\xfb` at 0, version u32 at 4, backing file offset u64 at 8,
 * cluster bits u32 at 20, virtual size u64 at 24, encryption method u32 at 32; version 3 adds
 * incompatible features u64 at 72 and the header length u32 at 100.
 *
 * The format of a disk always comes from the domain definition, never from probing: a guest can
 * write a qcow2 header into a raw disk. This module is only used on disks declared qcow2.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";
import {
  type StorageReadOptions,
  storageSystemError,
  withStorageDeadline,
} from "./storage_info.ts";

/** `QFI\xfb`. */
const QCOW2_MAGIC = 0x514649fb;
/** Version 2 headers end here. */
const QCOW2_V2_HEADER_BYTES = 72;
/** Version 3 headers are at least this long (they carry their length at byte 100). */
const QCOW2_V3_HEADER_BYTES_MIN = 104;
/** QEMU accepts clusters from 512 bytes to 2 MiB. */
const QCOW2_CLUSTER_BITS_MIN = 9;
const QCOW2_CLUSTER_BITS_MAX = 21;

/** How many bytes {@linkcode readQcow2Header} reads: a whole version 3 header. */
export const QCOW2_HEADER_READ_BYTES = QCOW2_V3_HEADER_BYTES_MIN;

/** The fields of a qcow2 header that evirt uses. */
export interface Qcow2Header {
  /** 2 or 3. */
  version: 2 | 3;
  /** log2 of the cluster size (9 … 21). */
  clusterBits: number;
  /** The size of the disk the guest sees. */
  virtualSizeBytes: number;
  /** Whether the image names a backing file. */
  hasBackingFile: boolean;
  /** Whether the image is encrypted (method 1 AES or 2 LUKS). */
  encrypted: boolean;
  /** The header's own length: 72 for version 2, from the header for version 3. */
  headerBytes: number;
}

/**
 * A file that is declared qcow2 but does not hold a sound qcow2 header. `where` names the file.
 *
 * @example
 * ```ts
 * import { Qcow2HeaderError } from "./qcow2_header.ts";
 * const error = new Qcow2HeaderError("/images/a.qcow2", "bad magic");
 * console.log(error.message); // "invalid qcow2 header in '/images/a.qcow2': bad magic"
 * ```
 */
export class Qcow2HeaderError extends VirtError {
  /** The file at fault. */
  readonly path: string;

  /**
   * @param path The file at fault.
   * @param problem What is wrong, completing "invalid qcow2 header in '…': ".
   * @param options The underlying error, if any.
   */
  constructor(path: string, problem: string, options: { cause?: unknown } = {}) {
    super(ErrorCode.OPERATION_FAILED, `invalid qcow2 header in '${path}': ${problem}`, {
      where: path,
      cause: options.cause,
    });
    this.name = "Qcow2HeaderError";
    this.path = path;
  }
}

/**
 * Parses and validates the start of a qcow2 image.
 *
 * @param bytes The first bytes of the image ({@linkcode QCOW2_HEADER_READ_BYTES} suffice;
 *   fewer only if the image is that short).
 * @param path The image's path, named in errors.
 * @returns The header fields.
 * @throws {Qcow2HeaderError} On a truncated header, bad magic, unknown version, cluster bits
 *   out of range, a version 3 header length below 104, or a virtual size beyond 2^53 − 1.
 *
 * @example Reading the virtual size
 * ```ts
 * import { parseQcow2Header } from "./qcow2_header.ts";
 * const bytes = new Uint8Array(104);
 * const view = new DataView(bytes.buffer);
 * view.setUint32(0, 0x514649fb); // QFI\xfb
 * view.setUint32(4, 3);
 * view.setUint32(20, 16);
 * view.setBigUint64(24, 1073741824n);
 * view.setUint32(100, 104);
 * console.log(parseQcow2Header(bytes, "/images/a.qcow2").virtualSizeBytes); // 1073741824
 * ```
 */
export function parseQcow2Header(bytes: Uint8Array, path: string): Qcow2Header {
  if (bytes.length < 8) {
    throw new Qcow2HeaderError(
      path,
      `truncated: ${bytes.length} bytes, not even a magic and version`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0);
  if (magic !== QCOW2_MAGIC) {
    throw new Qcow2HeaderError(path, `bad magic 0x${magic.toString(16).padStart(8, "0")}`);
  }
  const version = view.getUint32(4);
  if (version !== 2 && version !== 3) {
    throw new Qcow2HeaderError(path, `unsupported version ${version}`);
  }
  const headerBytesMin = version === 2 ? QCOW2_V2_HEADER_BYTES : QCOW2_V3_HEADER_BYTES_MIN;
  if (bytes.length < headerBytesMin) {
    throw new Qcow2HeaderError(
      path,
      `truncated: ${bytes.length} bytes, a version ${version} header needs ${headerBytesMin}`,
    );
  }
  const clusterBits = view.getUint32(20);
  if (clusterBits < QCOW2_CLUSTER_BITS_MIN || clusterBits > QCOW2_CLUSTER_BITS_MAX) {
    throw new Qcow2HeaderError(
      path,
      `cluster bits ${clusterBits} outside ${QCOW2_CLUSTER_BITS_MIN}..${QCOW2_CLUSTER_BITS_MAX}`,
    );
  }
  const headerBytes = version === 2 ? QCOW2_V2_HEADER_BYTES : view.getUint32(100);
  if (headerBytes < headerBytesMin) {
    throw new Qcow2HeaderError(path, `header length ${headerBytes} below ${headerBytesMin}`);
  }
  const virtualSize = view.getBigUint64(24);
  if (virtualSize > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new Qcow2HeaderError(path, `virtual size ${virtualSize} is too large`);
  }
  return {
    version,
    clusterBits,
    virtualSizeBytes: Number(virtualSize),
    hasBackingFile: view.getBigUint64(8) !== 0n,
    encrypted: view.getUint32(32) !== 0,
    headerBytes,
  };
}

/**
 * Reads and validates the qcow2 header at the start of a regular file or block device.
 *
 * @param path The image (a regular file or a block device holding qcow2 directly).
 * @param options Deadline and abort signal.
 * @returns The header fields.
 * @throws {Qcow2HeaderError} When the header is missing, truncated or unsound.
 * @throws {VirtError} `SYSTEM_ERROR` when the file cannot be opened or read;
 *   `OPERATION_TIMEOUT` / `OPERATION_ABORTED` from the deadline.
 *
 * @example Reading an image made by qemu-img
 * ```ts ignore
 * import { readQcow2Header } from "./qcow2_header.ts";
 * const header = await readQcow2Header("/var/lib/images/guest.qcow2");
 * console.log(header.virtualSizeBytes);
 * ```
 */
export function readQcow2Header(
  path: string,
  options: StorageReadOptions = {},
): Promise<Qcow2Header> {
  return withStorageDeadline(path, readFileStart(path, QCOW2_HEADER_READ_BYTES), options).then((
    bytes,
  ) => parseQcow2Header(bytes, path));
}

/**
 * The first `maxBytes` bytes of a file (fewer for a shorter file), for reading an image header.
 *
 * @throws {VirtError} SYSTEM_ERROR (38) naming the file when it cannot be opened or read.
 */
export async function readFileStart(path: string, maxBytes: number): Promise<Uint8Array> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true, write: false });
  } catch (error) {
    throw storageSystemError(`cannot open file '${path}'`, path, error);
  }
  try {
    const buffer = new Uint8Array(maxBytes);
    let filledBytes = 0;
    // read() may return fewer bytes than asked; each round makes progress or ends the file.
    while (filledBytes < buffer.length) {
      const count = await file.read(buffer.subarray(filledBytes));
      if (count === null || count === 0) break;
      filledBytes += count;
    }
    return buffer.subarray(0, filledBytes);
  } catch (error) {
    throw storageSystemError(`cannot read header of '${path}'`, path, error);
  } finally {
    file.close();
  }
}
