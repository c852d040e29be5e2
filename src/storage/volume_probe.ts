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
import type { ScanMemory } from "./probe_memory.ts";

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
 * One piece of I/O a probe needs: a stat of a path, or the first bytes of a file (`quiet`: a
 * failure reads as no bytes). A probe is a sequence of such steps, run with async I/O on the main
 * loop ({@linkcode probeVolume}) or with blocking I/O on a worker thread
 * ({@linkcode probeVolumeSync}); both follow the same steps.
 */
type ProbeStep =
  | { op: "stat"; path: string }
  | { op: "read"; path: string; lengthBytes: number; quiet: boolean };

/**
 * What a probe needs of an entry's stat (following links), and what tells whether it changed
 * (src/storage/probe_memory.ts).
 */
export interface EntryStat {
  isFile: boolean;
  isDirectory: boolean;
  sizeBytes: number;
  /** 512-byte blocks allocated. */
  blocks: number;
  /** Permission bits. */
  mode: number;
  uid: number;
  gid: number;
  /** Device and inode, as text. */
  identity: string;
  /** Last modification and last status change, as text at the finest resolution known. */
  times: string;
  /** Last status change, ms since the epoch. */
  changedMs: number;
}

/** A `Deno.FileInfo` as an {@linkcode EntryStat}. */
export function entryStatOf(stat: Deno.FileInfo): EntryStat {
  return {
    isFile: stat.isFile,
    isDirectory: stat.isDirectory,
    sizeBytes: stat.size,
    blocks: stat.blocks ?? 0,
    mode: (stat.mode ?? 0) & 0o777,
    uid: stat.uid ?? 0,
    gid: stat.gid ?? 0,
    identity: `${stat.dev}:${stat.ino}`,
    times: `${stat.mtime?.getTime()}:${stat.ctime?.getTime()}`,
    changedMs: stat.ctime?.getTime() ?? Number.POSITIVE_INFINITY,
  };
}

/** What a step gives back: the stat (undefined: no such entry) or the bytes read. */
type ProbeStepResult = EntryStat | undefined | Uint8Array;

function* probeSteps(
  dir: string,
  name: string,
): Generator<ProbeStep, ProbedVolume | undefined, ProbeStepResult> {
  const path = `${dir}/${name}`;
  const stat = (yield { op: "stat", path }) as EntryStat | undefined;
  if (stat === undefined) return undefined;
  const ownership = { mode: stat.mode, owner: stat.uid, group: stat.gid };
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
  const allocationBytes = stat.blocks * 512;
  const read = (lengthBytes: number, quiet = false): ProbeStep => ({
    op: "read",
    path,
    lengthBytes,
    quiet,
  });
  let head = (yield read(VOLUME_MAGIC_READ_BYTES)) as Uint8Array;
  if (isQcow2(head)) head = (yield read(VOLUME_PROBE_READ_BYTES)) as Uint8Array;
  if (!isQcow2(head)) {
    const record = {
      name,
      type: "file",
      path,
      format: "raw",
      capacityBytes: stat.sizeBytes,
      allocationBytes,
      physicalBytes: stat.sizeBytes,
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
    physicalBytes: stat.sizeBytes,
  };
  const qcow2 = qcow2Details(head);
  const backing = header.hasBackingFile ? backingName(head) : undefined;
  if (backing !== undefined) {
    record.backingPath = backing.startsWith("/") ? backing : `${dir}/${backing}`;
    // A backing file's format when its image does not name it: qcow2 by its magic, else raw.
    record.backingFormat = qcow2.backingFormat ??
      (isQcow2(
          (yield {
            op: "read",
            path: record.backingPath,
            lengthBytes: VOLUME_MAGIC_READ_BYTES,
            quiet: true,
          }) as Uint8Array,
        )
        ? "qcow2"
        : "raw");
  }
  return { record, ...ownership, qcow2 };
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
  const steps = probeSteps(dir, name);
  let next = steps.next(undefined);
  while (!next.done) {
    const step = next.value;
    next = steps.next(
      step.op === "stat" ? await statOrUndefined(step.path) : await readHead(step),
    );
  }
  return next.value;
}

/**
 * {@linkcode probeVolume} with blocking I/O, for a worker thread (a refresh's scan), where a
 * blocking call costs a fraction of an async one and holds up no one. With `memory`, an entry
 * unchanged since the last scan is not read again (src/storage/probe_memory.ts).
 *
 * @throws {VirtError} Code 38 when the entry cannot be read.
 *
 * @example
 * ```ts ignore
 * const probed = probeVolumeSync("/var/lib/images", "a.qcow2");
 * ```
 */
export function probeVolumeSync(
  dir: string,
  name: string,
  memory?: ScanMemory,
): ProbedVolume | undefined {
  const path = `${dir}/${name}`;
  const steps = probeSteps(dir, name);
  let next = steps.next(undefined);
  let stat: EntryStat | undefined;
  // Only a probe that read nothing but the entry itself is remembered (a backing file's format
  // read from the backing file would not follow that file's changes).
  let selfContained = true;
  while (!next.done) {
    const step = next.value;
    if (step.op === "stat") {
      stat = statOrUndefinedSync(step.path);
      const recalled = stat === undefined ? undefined : memory?.recall(name, stat);
      if (recalled !== undefined) {
        memory!.keep(name, stat!, recalled);
        return recalled;
      }
      next = steps.next(stat);
    } else {
      if (step.path !== path) selfContained = false;
      next = steps.next(readHeadSync(step));
    }
  }
  if (stat !== undefined && selfContained) memory?.keep(name, stat, next.value);
  return next.value;
}

async function statOrUndefined(path: string): Promise<EntryStat | undefined> {
  try {
    return entryStatOf(await Deno.stat(path));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw storageSystemError(`cannot stat file '${path}'`, path, error);
  }
}

function statOrUndefinedSync(path: string): EntryStat | undefined {
  try {
    return entryStatOf(Deno.statSync(path));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw storageSystemError(`cannot stat file '${path}'`, path, error);
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

async function readHead(
  step: { path: string; lengthBytes: number; quiet: boolean },
): Promise<Uint8Array> {
  const { path, lengthBytes } = step;
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    if (step.quiet) return new Uint8Array(0);
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
    if (step.quiet) return new Uint8Array(0);
    throw storageSystemError(`cannot read volume '${path}'`, path, error);
  } finally {
    file.close();
  }
}

function readHeadSync(step: { path: string; lengthBytes: number; quiet: boolean }): Uint8Array {
  const { path, lengthBytes } = step;
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
  } catch (error) {
    if (step.quiet) return new Uint8Array(0);
    throw storageSystemError(`cannot open volume '${path}'`, path, error);
  }
  try {
    const buffer = new Uint8Array(lengthBytes);
    let filled = 0;
    while (filled < buffer.length) {
      const count = file.readSync(buffer.subarray(filled));
      if (count === null || count === 0) break;
      filled += count;
    }
    return buffer.subarray(0, filled);
  } catch (error) {
    if (step.quiet) return new Uint8Array(0);
    throw storageSystemError(`cannot read volume '${path}'`, path, error);
  } finally {
    file.close();
  }
}
