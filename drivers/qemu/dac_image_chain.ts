/**
 * The backing images below a disk image, for giving them to QEMU with the image (libvirt
 * labels the whole chain). Only a chain whose formats are known is followed: the top image's
 * format comes from the definition and a backing image's from the qcow2 header extension that
 * names it. A name without a format ends the walk, so a guest that writes a qcow2 header into a
 * raw disk cannot make the service chown a host file of its choosing.
 *
 * @module
 */

import { parseQcow2Header } from "../../src/storage/qcow2_header.ts";

/** Most images below a top image that are followed. */
export const IMAGE_CHAIN_LAYERS_MAX = 64;

/** How many bytes of an image are read for its backing name and format. */
const HEADER_READ_BYTES = 65_536;

/** The qcow2 header extension that names the backing format. */
const BACKING_FORMAT_EXTENSION = 0xe2792aca;

/** Longest backing name qcow2 allows, in bytes. */
const BACKING_NAME_BYTES_MAX = 1023;

/**
 * The paths of the backing images below `path`, top first; empty for a raw image, an image
 * without a backing file, or one that cannot be read (QEMU then reports it).
 *
 * @param path The top image.
 * @param format Its format, from the definition.
 *
 * @example
 * ```ts ignore
 * backingImagePaths("/images/top.qcow2", "qcow2"); // ["/images/base.qcow2"]
 * ```
 */
export function backingImagePaths(path: string, format: string): string[] {
  const layers: string[] = [];
  const seen = new Set<string>();
  let current: { path: string; format: string | undefined } = { path, format };
  while (current.format === "qcow2" && layers.length < IMAGE_CHAIN_LAYERS_MAX) {
    let real: string;
    let bytes: Uint8Array;
    try {
      real = Deno.realPathSync(current.path);
      bytes = readStart(real);
    } catch {
      break;
    }
    if (seen.has(real)) break;
    seen.add(real);
    const next = backingOf(bytes, current.path);
    if (next === undefined) break;
    layers.push(next.path);
    current = next;
  }
  return layers;
}

function readStart(path: string): Uint8Array {
  const file = Deno.openSync(path, { read: true });
  try {
    const buffer = new Uint8Array(HEADER_READ_BYTES);
    let filled = 0;
    while (filled < buffer.length) {
      const count = file.readSync(buffer.subarray(filled));
      if (count === null || count === 0) break;
      filled += count;
    }
    return buffer.subarray(0, filled);
  } finally {
    file.close();
  }
}

function backingOf(
  bytes: Uint8Array,
  imagePath: string,
): { path: string; format: string | undefined } | undefined {
  let headerBytes: number;
  try {
    const header = parseQcow2Header(bytes, imagePath);
    if (!header.hasBackingFile) return undefined;
    headerBytes = header.headerBytes;
  } catch {
    return undefined;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const nameOffset = Number(view.getBigUint64(8));
  const nameBytes = view.getUint32(16);
  if (nameBytes === 0 || nameBytes > BACKING_NAME_BYTES_MAX) return undefined;
  if (nameOffset + nameBytes > bytes.length) return undefined;
  const name = new TextDecoder().decode(bytes.subarray(nameOffset, nameOffset + nameBytes));
  if (/^[a-z][a-z0-9+.-]*:/i.test(name)) return undefined; // Not a local file.
  const path = name.startsWith("/")
    ? name
    : `${imagePath.slice(0, imagePath.lastIndexOf("/") + 1)}${name}`;
  return { path, format: backingFormat(view, headerBytes, Math.min(nameOffset, bytes.length)) };
}

function backingFormat(view: DataView, start: number, end: number): string | undefined {
  let offset = start;
  // Each extension takes at least 8 bytes: at most (end - start) / 8 steps.
  while (offset + 8 <= end) {
    const type = view.getUint32(offset);
    const length = view.getUint32(offset + 4);
    if (type === 0) return undefined;
    const dataStart = offset + 8;
    if (dataStart + length > end) return undefined;
    if (type === BACKING_FORMAT_EXTENSION) {
      const data = new Uint8Array(view.buffer, view.byteOffset + dataStart, length);
      return new TextDecoder().decode(data).replace(/\0+$/, "");
    }
    offset = dataStart + Math.ceil(length / 8) * 8;
  }
  return undefined;
}
