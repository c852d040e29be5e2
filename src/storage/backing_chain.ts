/**
 * The backing chain of a disk image, read from the images themselves: for a qcow2 image, the
 * backing file name (header bytes 8–19) and its format (the header extension `0xE2792ACA`), then
 * the same for the backing image, until an image without a backing file.
 *
 * The top image's format always comes from the domain definition; a backing image's format
 * comes from the image that names it. An image that names a backing file without its format is
 * refused, as libvirt 9.0 refuses it (probing a format lets a guest that writes a qcow2 header
 * into a raw disk read host files). Only qcow2 images are read for a backing file: a raw image has
 * none, and the other formats are left to QEMU (the chain is then unknown).
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";
import { parseQcow2Header, Qcow2HeaderError, readFileStart } from "./qcow2_header.ts";
import {
  type StorageReadOptions,
  storageSystemError,
  withStorageDeadline,
} from "./storage_info.ts";

/** Most images in one chain (the top image included); a longer chain is refused. */
export const BACKING_CHAIN_LAYERS_MAX = 64;

/** How many bytes of an image are read to find its backing file name and format. */
export const BACKING_HEADER_READ_BYTES = 65_536;

/** The qcow2 header extension that names the backing file's format. */
const BACKING_FORMAT_EXTENSION = 0xe2792aca;

/** Longest backing file name qcow2 allows, in bytes. */
const BACKING_NAME_BYTES_MAX = 1023;

/** One image below the top of a chain. */
export interface BackingLayer {
  /** The image's path (relative names resolved against the folder of the image naming it). */
  path: string;
  /** Its format, as the image above it names it (`raw`, `qcow2`, …). */
  format: string;
  /** A regular file or a block device. */
  kind: "file" | "block";
}

/**
 * What a qcow2 image says of its backing image: its name as written and its format, or
 * undefined when it has none.
 */
export interface BackingReference {
  /** The name as the image stores it (absolute, or relative to the image's folder). */
  name: string;
  /** The format the image names for it; undefined when the image does not say. */
  format: string | undefined;
}

/**
 * Finds the backing file name and format in the first bytes of a qcow2 image.
 *
 * @param bytes The image's first bytes (up to {@linkcode BACKING_HEADER_READ_BYTES}).
 * @param path The image, named in errors.
 * @returns The backing reference, or undefined when the image has no backing file.
 * @throws {Qcow2HeaderError} When the header is unsound or the name lies outside `bytes`.
 *
 * @example An image without a backing file
 * ```ts
 * import { parseBackingReference } from "./backing_chain.ts";
 * const bytes = new Uint8Array(104);
 * const view = new DataView(bytes.buffer);
 * view.setUint32(0, 0x514649fb);
 * view.setUint32(4, 3);
 * view.setUint32(20, 16);
 * view.setUint32(100, 104);
 * console.log(parseBackingReference(bytes, "/images/a.qcow2")); // undefined
 * ```
 */
export function parseBackingReference(
  bytes: Uint8Array,
  path: string,
): BackingReference | undefined {
  const header = parseQcow2Header(bytes, path);
  if (!header.hasBackingFile) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const nameOffset = Number(view.getBigUint64(8));
  const nameBytes = view.getUint32(16);
  if (nameBytes === 0 || nameBytes > BACKING_NAME_BYTES_MAX) {
    throw new Qcow2HeaderError(path, `backing file name length ${nameBytes} is out of range`);
  }
  if (nameOffset + nameBytes > bytes.length) {
    throw new Qcow2HeaderError(
      path,
      `backing file name at ${nameOffset} lies beyond the first ${bytes.length} bytes`,
    );
  }
  const name = new TextDecoder("utf-8", { fatal: false }).decode(
    bytes.subarray(nameOffset, nameOffset + nameBytes),
  );
  return {
    name,
    format: backingFormat(view, header.headerBytes, Math.min(nameOffset, bytes.length)),
  };
}

/** The backing format extension's text, walking the extensions that follow the header. */
function backingFormat(view: DataView, start: number, end: number): string | undefined {
  let offset = start;
  // Each extension is at least 8 bytes, so the walk ends within (end - start) / 8 steps.
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

/**
 * Reads the backing chain below an image: each backing image with its format, top first.
 *
 * @param path The top image.
 * @param format The top image's format, from the definition.
 * @param options Deadline (per image) and abort signal.
 * @returns The layers below the top (empty when the top has no backing file), or undefined when
 *   the chain is not known (an image of a format other than raw or qcow2 is in it).
 * @throws {VirtError} OPERATION_INVALID (55) for a backing image whose format is not named;
 *   CONFIG_UNSUPPORTED (67) for a backing name that is not a local path, a loop, or more than
 *   {@linkcode BACKING_CHAIN_LAYERS_MAX} images; SYSTEM_ERROR (38) when an image cannot be read;
 *   {@linkcode Qcow2HeaderError} for an unsound header.
 *
 * @example
 * ```ts ignore
 * const layers = await readBackingChain("/images/top.qcow2", "qcow2");
 * // [{ path: "/images/base.raw", format: "raw", kind: "file" }]
 * ```
 */
export async function readBackingChain(
  path: string,
  format: string,
  options: StorageReadOptions = {},
): Promise<BackingLayer[] | undefined> {
  const layers: BackingLayer[] = [];
  const seen = new Set<string>([await canonical(path)]);
  let current = { path, format };
  for (let depth = 1; current.format !== "raw"; depth++) {
    if (current.format !== "qcow2") return undefined;
    const bytes = await withStorageDeadline(
      current.path,
      readFileStart(current.path, BACKING_HEADER_READ_BYTES),
      options,
    );
    const reference = parseBackingReference(bytes, current.path);
    if (reference === undefined) break;
    if (depth >= BACKING_CHAIN_LAYERS_MAX) {
      throw new VirtError(
        ErrorCode.CONFIG_UNSUPPORTED,
        `backing chain of '${path}' is longer than ${BACKING_CHAIN_LAYERS_MAX} images`,
        { where: path },
      );
    }
    const next = resolveBackingName(reference.name, current.path);
    if (reference.format === undefined) {
      throw new VirtError(
        ErrorCode.OPERATION_INVALID,
        `format of backing image '${reference.name}' of image '${current.path}' was not specified in the image metadata (See https://libvirt.org/kbase/backing_chains.html for troubleshooting)`,
        { where: current.path },
      );
    }
    const real = await canonical(next);
    if (seen.has(real)) {
      throw new VirtError(
        ErrorCode.CONFIG_UNSUPPORTED,
        `backing store for '${current.path}' ('${next}') is self-referential`,
        { where: current.path },
      );
    }
    seen.add(real);
    layers.push({ path: next, format: reference.format, kind: await kindOf(next) });
    current = { path: next, format: reference.format };
  }
  return layers;
}

/** A backing name as a path: absolute as is, relative to the folder of the image naming it. */
function resolveBackingName(name: string, imagePath: string): string {
  if (name.startsWith("/")) return name;
  if (/^[a-z][a-z0-9+.-]*:/i.test(name)) {
    throw new VirtError(
      ErrorCode.CONFIG_UNSUPPORTED,
      `backing file '${name}' of image '${imagePath}' is not a local path`,
      { where: imagePath },
    );
  }
  const folder = imagePath.slice(0, imagePath.lastIndexOf("/") + 1);
  return `${folder}${name}`;
}

async function canonical(path: string): Promise<string> {
  try {
    return await Deno.realPath(path);
  } catch (error) {
    throw storageSystemError(`cannot access backing file '${path}'`, path, error);
  }
}

async function kindOf(path: string): Promise<"file" | "block"> {
  try {
    return (await Deno.stat(path)).isBlockDevice ? "block" : "file";
  } catch (error) {
    throw storageSystemError(`cannot access backing file '${path}'`, path, error);
  }
}
