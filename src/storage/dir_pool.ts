/**
 * A `dir` pool's work on the host, as libvirt's directory backend does it: make the target
 * directory with its mode and owner, check it, remove it, list what is in it, report the file
 * system's figures, and make, remove, resize and wipe volume files (raw files sparse unless an
 * allocation is asked; other formats through `qemu-img`).
 *
 * Every function does one thing to the world and returns; the pool actor records the intent
 * before calling it and the outcome after.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";
import type { VolumeRecord } from "../model/storage_facts.ts";
import type { PoolFigures, StoragePermissions } from "../model/storage_pool.ts";
import {
  qemuImgConvertArgs,
  type QemuImgCreate,
  qemuImgCreateArgs,
  type QemuImgJob,
  qemuImgResizeArgs,
  runQemuImg,
  runQemuImgJob,
} from "./qemu_img.ts";
import { storageSystemError } from "./storage_info.ts";
import { type ProbedVolume, probeVolume, probeVolumeSync } from "./volume_probe.ts";
import type { ProbeMemory } from "./probe_memory.ts";

/** libvirt's mode of a pool directory it makes when the definition names none. */
export const POOL_DIR_MODE_DEFAULT = 0o711;

/** libvirt's mode of a volume file it makes when the definition names none. */
export const VOLUME_MODE_DEFAULT = 0o600;

/** Most entries a refresh lists in one pool. */
export const POOL_VOLUMES_MAX = 100_000;

/** Bytes written per write when zero-filling. */
const ZERO_CHUNK_BYTES = 1024 * 1024;

/**
 * Makes the pool's directory (and missing parents), then sets the mode and owner the definition
 * asks for, as `pool-build` does. An existing directory is kept and adjusted.
 *
 * @throws {VirtError} Code 38 when the directory cannot be made or adjusted.
 */
export async function buildPoolDirectory(
  path: string,
  permissions: StoragePermissions,
): Promise<void> {
  const mode = permissions.mode ?? POOL_DIR_MODE_DEFAULT;
  try {
    await Deno.mkdir(path, { recursive: true, mode });
    await Deno.chmod(path, mode);
    if (permissions.owner !== undefined || permissions.group !== undefined) {
      await Deno.chown(path, permissions.owner ?? null, permissions.group ?? null);
    }
  } catch (error) {
    throw storageSystemError(`cannot create path '${path}'`, path, error);
  }
}

/**
 * Checks that the pool's directory exists, as `pool-start` does.
 *
 * @throws {VirtError} Code 38 `cannot open directory '…': …` when it does not.
 */
export async function checkPoolDirectory(path: string): Promise<void> {
  let stat: Deno.FileInfo;
  try {
    stat = await Deno.stat(path);
  } catch (error) {
    throw storageSystemError(`cannot open directory '${path}'`, path, error);
  }
  if (!stat.isDirectory) {
    throw new VirtError(
      ErrorCode.SYSTEM_ERROR,
      `cannot open directory '${path}': Not a directory`,
      {
        where: path,
      },
    );
  }
}

/**
 * Removes the pool's (empty) directory, as `pool-delete` does.
 *
 * @throws {VirtError} Code 38 `failed to remove pool '…': …` (not empty, missing…).
 */
export async function removePoolDirectory(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch (error) {
    throw storageSystemError(`failed to remove pool '${path}'`, path, error);
  }
}

/**
 * Lists the pool's volumes: every file and directory in it (hidden ones too, as libvirt), by
 * name. Blocking I/O: it runs on a worker thread (src/storage/pool_scan_worker.ts), where one
 * blocking call costs a fraction of an async one and holds up no one. With `memory`, entries
 * unchanged since its last scan of `path` are not read again: an unchanged pool costs a stat
 * per entry.
 *
 * @throws {VirtError} Code 38 when the directory cannot be read, 84 over {@linkcode POOL_VOLUMES_MAX}.
 */
export function scanPoolDirectorySync(path: string, memory?: ProbeMemory): ProbedVolume[] {
  const scan = memory?.begin(path, Date.now());
  const names: string[] = [];
  try {
    for (const entry of Deno.readDirSync(path)) {
      names.push(entry.name);
      if (names.length > POOL_VOLUMES_MAX) {
        throw new VirtError(
          ErrorCode.OPERATION_UNSUPPORTED,
          `pool '${path}' holds more than ${POOL_VOLUMES_MAX} entries`,
        );
      }
    }
  } catch (error) {
    memory?.forget(path);
    if (error instanceof VirtError) throw error;
    throw storageSystemError(`cannot open directory '${path}'`, path, error);
  }
  names.sort();
  const probed: ProbedVolume[] = [];
  for (const name of names) {
    const volume = probeVolumeSync(path, name, scan);
    if (volume !== undefined) probed.push(volume);
  }
  if (memory !== undefined && scan !== undefined) memory.end(path, scan);
  return probed;
}

/**
 * The file system figures of the pool's directory, as libvirt computes them from statvfs:
 * capacity = blocks × fragment size, available = free blocks × size (root's reserve included,
 * as libvirt counts it: f_bfree, not f_bavail), allocation = capacity − available.
 *
 * @throws {VirtError} Code 38 when `stat -f` fails.
 */
export async function poolDirectoryFigures(path: string): Promise<PoolFigures> {
  const output = await new Deno.Command("stat", {
    args: ["-f", "-c", "%S %b %f", path],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(5_000),
  }).output().catch((error) => {
    throw storageSystemError(`cannot statvfs path '${path}'`, path, error);
  });
  const fields = new TextDecoder().decode(output.stdout).trim().split(" ").map((field) =>
    BigInt(/^\d+$/.test(field) ? field : "0")
  );
  if (output.code !== 0 || fields.length !== 3) {
    throw new VirtError(ErrorCode.SYSTEM_ERROR, `cannot statvfs path '${path}'`, { where: path });
  }
  const [size, blocks, free] = fields;
  return {
    capacityBytes: blocks * size,
    allocationBytes: (blocks - free) * size,
    availableBytes: free * size,
  };
}

/** What a long volume operation is told and tells: a cancel, and its progress. */
export interface VolumeWork {
  /** Stops the work between two writes (or kills qemu-img); it rejects with the reason. */
  signal?: AbortSignal;
  /** Called with the bytes done so far of the total. */
  onProgress?: (bytesDone: number, bytesTotal: number) => void;
}

/**
 * The qemu-img job of a copy of `totalBytes`: cancelled by `work`'s signal, its percentages
 * told to `work` as bytes.
 */
export function copyJobOf(work: VolumeWork | undefined, totalBytes: number): QemuImgJob {
  return {
    ...(work?.signal === undefined ? {} : { signal: work.signal }),
    onPercent: (percent) => work?.onProgress?.(Math.floor(totalBytes * percent / 100), totalBytes),
  };
}

/** What a volume create makes in a directory pool. */
export interface DirVolumeCreate extends QemuImgCreate {
  /** Bytes to allocate up front (raw files): the rest stays sparse. */
  allocationBytes: number;
  /** Mode and owner of the file. */
  permissions: StoragePermissions;
}

/**
 * Makes a volume file: a copy of `source` by `qemu-img convert` (holes kept) when given; else a
 * raw file exclusively created, sized, and allocated up to `allocationBytes`; any other format
 * by `qemu-img create`. Then sets mode and owner.
 *
 * @returns The volume as probed after it was made.
 * @throws {VirtError} Code 90 when the file exists, 38 on a system error, 1 when qemu-img fails.
 */
export async function createVolumeFile(
  dir: string,
  name: string,
  plan: DirVolumeCreate,
  source?: VolumeRecord,
  work: VolumeWork = {},
): Promise<VolumeRecord> {
  const mode = plan.permissions.mode ?? VOLUME_MODE_DEFAULT;
  if (source !== undefined) {
    if (await exists(plan.path)) {
      throw new VirtError(ErrorCode.STORAGE_VOL_EXIST, `'${name}'`, { where: plan.path });
    }
    await runQemuImgJob(
      qemuImgConvertArgs(source.path, source.format, plan),
      copyJobOf(work, source.capacityBytes),
    );
    if (plan.capacityBytes !== undefined && plan.capacityBytes > source.capacityBytes) {
      await runQemuImg(qemuImgResizeArgs(plan.path, plan.capacityBytes, false));
    }
  } else if (plan.format === "raw" && plan.backing === undefined) {
    await createRawFile(plan.path, plan.capacityBytes ?? 0, plan.allocationBytes, mode, work);
  } else {
    if (await exists(plan.path)) {
      throw new VirtError(ErrorCode.STORAGE_VOL_EXIST, `'${name}'`, { where: plan.path });
    }
    await runQemuImg(qemuImgCreateArgs(plan));
  }
  try {
    await Deno.chmod(plan.path, mode);
    if (plan.permissions.owner !== undefined || plan.permissions.group !== undefined) {
      await Deno.chown(plan.path, plan.permissions.owner ?? null, plan.permissions.group ?? null);
    }
  } catch (error) {
    throw storageSystemError(`cannot set permissions of '${plan.path}'`, plan.path, error);
  }
  const probed = await probeVolume(dir, name);
  if (probed === undefined) {
    throw new VirtError(ErrorCode.INTERNAL_ERROR, `volume '${name}' vanished after creation`);
  }
  return probed.record;
}

async function createRawFile(
  path: string,
  capacityBytes: number,
  allocationBytes: number,
  mode: number,
  work: VolumeWork,
): Promise<void> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { write: true, createNew: true, mode });
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) {
      throw new VirtError(
        ErrorCode.STORAGE_VOL_EXIST,
        `'${path.slice(path.lastIndexOf("/") + 1)}'`,
        {
          where: path,
        },
      );
    }
    throw storageSystemError(`cannot create path '${path}'`, path, error);
  }
  try {
    await file.truncate(capacityBytes);
    const toAllocate = Math.min(allocationBytes, capacityBytes);
    if (toAllocate > 0) await zeroRange(file, 0, toAllocate, work);
    await file.syncData();
  } catch (error) {
    if (work.signal?.aborted === true) throw work.signal.reason;
    throw storageSystemError(`cannot fill file '${path}'`, path, error);
  } finally {
    file.close();
  }
}

async function zeroRange(
  file: Deno.FsFile,
  startBytes: number,
  endBytes: number,
  work: VolumeWork,
): Promise<void> {
  const zeros = new Uint8Array(ZERO_CHUNK_BYTES);
  await file.seek(startBytes, Deno.SeekMode.Start);
  let position = startBytes;
  while (position < endBytes) {
    work.signal?.throwIfAborted();
    const chunk = zeros.subarray(0, Math.min(ZERO_CHUNK_BYTES, endBytes - position));
    let written = 0;
    while (written < chunk.length) written += await file.write(chunk.subarray(written));
    position += chunk.length;
    work.onProgress?.(position - startBytes, endBytes - startBytes);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw storageSystemError(`cannot stat file '${path}'`, path, error);
  }
}

/**
 * Removes a volume file (or an empty directory volume). A file already gone is not an error,
 * so an interrupted delete can be finished.
 *
 * @throws {VirtError} Code 38 when it cannot be removed.
 */
export async function removeVolumeFile(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw storageSystemError(`cannot unlink file '${path}'`, path, error);
  }
}

/**
 * Changes a volume's capacity: a raw file's length, or a qcow2 image's virtual size by
 * `qemu-img resize`.
 *
 * @returns The volume as probed afterwards.
 * @throws {VirtError} Code 38 or 1 when it fails.
 */
export async function resizeVolumeFile(
  volume: VolumeRecord,
  capacityBytes: number,
  shrink: boolean,
): Promise<VolumeRecord> {
  if (volume.format === "raw") {
    try {
      await Deno.truncate(volume.path, capacityBytes);
    } catch (error) {
      throw storageSystemError(`cannot resize file '${volume.path}'`, volume.path, error);
    }
  } else {
    await runQemuImg(qemuImgResizeArgs(volume.path, capacityBytes, shrink));
  }
  return await reprobe(volume);
}

/**
 * Wipes a volume with zeros, keeping its length: a sparse file is emptied and re-extended (it
 * stays sparse, reading as zeros), a fully allocated one is overwritten.
 *
 * @returns The volume as probed afterwards (a wiped qcow2 image reads as raw).
 * @throws {VirtError} Code 38 when it fails.
 */
export async function wipeVolumeFile(
  volume: VolumeRecord,
  work: VolumeWork = {},
): Promise<VolumeRecord> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(volume.path, { read: true, write: true });
  } catch (error) {
    throw storageSystemError(`cannot open volume '${volume.path}'`, volume.path, error);
  }
  try {
    const stat = await file.stat();
    const lengthBytes = stat.size;
    const allocatedBytes = (stat.blocks ?? 0) * 512;
    if (allocatedBytes < lengthBytes) {
      await file.truncate(0);
      await file.truncate(lengthBytes);
      work.onProgress?.(lengthBytes, lengthBytes);
    } else {
      await zeroRange(file, 0, lengthBytes, work);
    }
    await file.syncData();
  } catch (error) {
    // A cancelled wipe leaves the volume as it is: part zeroed.
    if (work.signal?.aborted === true) throw work.signal.reason;
    throw storageSystemError(`cannot wipe volume '${volume.path}'`, volume.path, error);
  } finally {
    file.close();
  }
  return await reprobe(volume);
}

async function reprobe(volume: VolumeRecord): Promise<VolumeRecord> {
  const slash = volume.path.lastIndexOf("/");
  const probed = await probeVolume(volume.path.slice(0, slash), volume.path.slice(slash + 1));
  if (probed === undefined) {
    throw new VirtError(
      ErrorCode.NO_STORAGE_VOL,
      `no storage vol with matching path '${volume.path}'`,
    );
  }
  return { ...probed.record, name: volume.name };
}
