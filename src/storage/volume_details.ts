/**
 * What a volume's XML shows beyond its sizes, read live as libvirt reads it for `vol-dumpxml`:
 * mode, owner and group; access, modification and change times to the nanosecond (`stat`;
 * birth time 0, as libvirt's stat(2) has none); a file's length (`<physical>`); and for a qcow2 image its compat level, cluster
 * size, features (lazy refcounts, extended L2) and its backing file's format from the header
 * extension that names it.
 *
 * @module
 */

import type { VolumeFeature } from "../model/storage_volume.ts";
import { storageSystemError } from "./storage_info.ts";

/** Longest a `stat` run may take, in ms. */
const STAT_TIMEOUT_MS = 5_000;

/** Most header extensions walked in one qcow2 header. */
const QCOW2_EXTENSIONS_MAX = 64;

/** The qcow2 header extension naming the backing file's format. */
const QCOW2_EXTENSION_BACKING_FORMAT = 0xe2792aca;

/** Times as libvirt writes them: seconds, then `.` and nine digits unless the nanoseconds are 0. */
export interface VolumeTimestamps {
  atime: string;
  mtime: string;
  ctime: string;
  btime: string;
}

/** A volume's live details. */
export interface VolumeDetails {
  mode: number;
  owner: number;
  group: number;
  timestamps: VolumeTimestamps;
  /** `st_size`. */
  physicalBytes: number;
}

/** What a qcow2 header says beyond its size. */
export interface Qcow2Details {
  /** `1.1` for a version 3 image; libvirt shows none for version 2. */
  compat?: string;
  clusterSizeBytes: number;
  /** Features of a version 3 image (empty for version 2). */
  features: VolumeFeature[];
  /** The backing file's format from the header extension, when named. */
  backingFormat?: string;
}

/**
 * Reads a file's details with `stat`.
 *
 * @throws {VirtError} Code 38 when it cannot be read.
 */
export async function volumeDetails(path: string): Promise<VolumeDetails> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("stat", {
      args: ["-L", "-c", "%a %u %g %s %.9X %.9Y %.9Z", path],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(STAT_TIMEOUT_MS),
    }).output();
  } catch (error) {
    throw storageSystemError(`cannot stat file '${path}'`, path, error);
  }
  const fields = new TextDecoder().decode(output.stdout).trim().split(" ");
  if (output.code !== 0 || fields.length !== 7) {
    const reason = new TextDecoder().decode(output.stderr).trim();
    throw storageSystemError(`cannot stat file '${path}'`, path, new Error(reason));
  }
  const [mode, owner, group, size, atime, mtime, ctime] = fields;
  return {
    mode: parseInt(mode, 8),
    owner: Number(owner),
    group: Number(group),
    physicalBytes: Number(size),
    timestamps: {
      atime: libvirtTime(atime),
      mtime: libvirtTime(mtime),
      ctime: libvirtTime(ctime),
      // libvirt reads times with stat(2), which has no birth time: it always writes 0.
      btime: "0",
    },
  };
}

/** `1700000000.000000000` → `1700000000`; other fractions stay. */
function libvirtTime(text: string): string {
  const [seconds, fraction = ""] = text.split(".");
  return /^0*$/.test(fraction) ? seconds : `${seconds}.${fraction}`;
}

/**
 * The qcow2 details of an image's first bytes (`head` holds at least the header and its
 * extensions, as {@linkcode probeVolume} reads them).
 *
 * @example
 * ```ts ignore
 * console.log(qcow2Details(head).compat); // "1.1"
 * ```
 */
export function qcow2Details(head: Uint8Array): Qcow2Details {
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const version = view.getUint32(4);
  const clusterBits = view.getUint32(20);
  const details: Qcow2Details = { clusterSizeBytes: 2 ** clusterBits, features: [] };
  let offset = 72;
  if (version >= 3) {
    details.compat = "1.1";
    const incompatible = view.getBigUint64(72);
    const compatible = view.getBigUint64(80);
    if ((compatible & 1n) !== 0n) details.features.push("lazy_refcounts");
    if ((incompatible & 16n) !== 0n) details.features.push("extended_l2");
    offset = view.getUint32(100);
  }
  for (let index = 0; index < QCOW2_EXTENSIONS_MAX && offset + 8 <= head.length; index++) {
    const type = view.getUint32(offset);
    const length = view.getUint32(offset + 4);
    if (type === 0 || offset + 8 + length > head.length) break;
    if (type === QCOW2_EXTENSION_BACKING_FORMAT) {
      details.backingFormat = new TextDecoder().decode(
        head.subarray(offset + 8, offset + 8 + length),
      );
    }
    offset += 8 + Math.ceil(length / 8) * 8;
  }
  return details;
}
