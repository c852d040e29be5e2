/**
 * What a pool refresh learns of one file or directory: its format (qcow2 by its magic, else
 * raw), capacity (qcow2's virtual size, a raw file's length), allocation (`st_blocks` × 512,
 * as `du`), a qcow2 image's backing file, and its ownership — the figures libvirt reports for
 * a volume of a directory pool.
 *
 * @module
 */

import type { VolumeRecord } from "../model/storage_facts.ts";
import { parseQcow2Header, QCOW2_HEADER_READ_BYTES } from "./qcow2_header.ts";
import { storageSystemError } from "./storage_info.ts";
import { type Qcow2Details, qcow2Details } from "./volume_details.ts";

/** Bytes read from the start of a qcow2 image to find its extensions and backing file name. */
export const VOLUME_PROBE_READ_BYTES = 64 * 1024;

/** Bytes read first from any file: enough for qcow2's magic and header. */
const VOLUME_MAGIC_READ_BYTES = 512;

/** Longest backing file name qcow2 allows (1023 bytes). */
const QCOW2_BACKING_NAME_MAX_BYTES = 1023;

const QCOW2_MAGIC = [0x51, 0x46, 0x49, 0xfb];

/** A probed volume: the record, and the ownership its dumpxml shows. */
export interface ProbedVolume {
  /** The record a refresh stores. */
  record: VolumeRecord;
  /** Mode bits, owner and group of the file. */
  mode: number;
  /** Owner uid. */
  owner: number;
  /** Group gid. */
  group: number;
  /** A qcow2 image's compat level, cluster size, features and backing format. */
  qcow2?: Qcow2Details;
}

/**
 * Probes the entry `name` of directory `dir`; undefined for what a directory pool does not list
 * (sockets, FIFOs, devices, dangling links).
 *
 * @throws {VirtError} Code 38 when the entry cannot be read.
 *
 * @example
 * ```ts ignore
 * const probed = await probeVolume("/var/lib/images", "a.qcow2");
 * console.log(probed?.record.format); // "qcow2"
 * ```
 */
export async function probeVolume(dir: string, name: string): Promise<ProbedVolume | undefined> {
  const path = `${dir}/${name}`;
  let stat: Deno.FileInfo;
  try {
    stat = await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw storageSystemError(`cannot stat file '${path}'`, path, error);
  }
  const ownership = { mode: (stat.mode ?? 0) & 0o777, owner: stat.uid ?? 0, group: stat.gid ?? 0 };
  if (stat.isDirectory) {
    const record = {
      name,
      type: "dir",
      path,
      format: "dir",
      capacityBytes: 0,
      allocationBytes: 0,
    };
    return { record, ...ownership };
  }
  if (!stat.isFile) return undefined;
  const allocationBytes = (stat.blocks ?? 0) * 512;
  let head = await readHead(path, VOLUME_MAGIC_READ_BYTES);
  if (isQcow2(head)) head = await readHead(path, VOLUME_PROBE_READ_BYTES);
  if (!isQcow2(head)) {
    const record = {
      name,
      type: "file",
      path,
      format: "raw",
      capacityBytes: stat.size,
      allocationBytes,
      physicalBytes: stat.size,
    };
    return { record, ...ownership };
  }
  const header = parseQcow2Header(head.subarray(0, QCOW2_HEADER_READ_BYTES), path);
  const record: VolumeRecord = {
    name,
    type: "file",
    path,
    format: "qcow2",
    capacityBytes: header.virtualSizeBytes,
    allocationBytes,
    physicalBytes: stat.size,
  };
  const qcow2 = qcow2Details(head);
  const backing = header.hasBackingFile ? backingName(head) : undefined;
  if (backing !== undefined) {
    record.backingPath = backing.startsWith("/") ? backing : `${dir}/${backing}`;
    record.backingFormat = qcow2.backingFormat ?? await probeFormat(record.backingPath);
  }
  return { record, ...ownership, qcow2 };
}

/** A backing file's format when its image does not name it: qcow2 by its magic, else raw. */
async function probeFormat(path: string): Promise<string> {
  try {
    return isQcow2(await readHead(path, VOLUME_MAGIC_READ_BYTES)) ? "qcow2" : "raw";
  } catch {
    return "raw";
  }
}

function isQcow2(head: Uint8Array): boolean {
  return head.length >= QCOW2_HEADER_READ_BYTES && QCOW2_MAGIC.every((byte, i) => head[i] === byte);
}

/** The backing file name at the offset the header gives, when it lies in the bytes read. */
function backingName(head: Uint8Array): string | undefined {
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const offset = Number(view.getBigUint64(8));
  const length = view.getUint32(16);
  if (length === 0 || length > QCOW2_BACKING_NAME_MAX_BYTES) return undefined;
  if (offset + length > head.length) return undefined;
  return new TextDecoder().decode(head.subarray(offset, offset + length));
}

async function readHead(path: string, lengthBytes: number): Promise<Uint8Array> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    throw storageSystemError(`cannot open volume '${path}'`, path, error);
  }
  try {
    const buffer = new Uint8Array(lengthBytes);
    let filled = 0;
    while (filled < buffer.length) {
      const count = await file.read(buffer.subarray(filled));
      if (count === null || count === 0) break;
      filled += count;
    }
    return buffer.subarray(0, filled);
  } catch (error) {
    throw storageSystemError(`cannot read volume '${path}'`, path, error);
  } finally {
    file.close();
  }
}
