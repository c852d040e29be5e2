/**
 * libvirt's block info contract (`virDomainGetBlockInfo`, reference §4) and the block part of the
 * stats contract (`block.<n>.*`, reference §5), for inactive disks (read from storage) and running
 * ones (from the figures their driver reports, re-reading storage only where the rules say so).
 * Every driver and projection uses these rules; none of them knows a hypervisor's replies.
 *
 * - capacity: the size the guest sees.
 * - allocation: host storage the image occupies (for a block device, the highest written offset).
 * - physical: the size of the container on the host (a file's last offset, a device's size).
 *
 * Storage access is injected so every rule is testable without files.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";
import { assertNoFault, type BlockFigures } from "./block_figures.ts";
import { type Qcow2Header, readQcow2Header } from "./qcow2_header.ts";
import { readStorageInfo, type StorageInfo, type StorageReader } from "./storage_info.ts";

/** The three figures of `virDomainGetBlockInfo`, in bytes. */
export interface BlockInfo {
  /** The logical size the guest sees. */
  capacityBytes: number;
  /** Host storage occupied by the image (`du`); for a block device the highest written extent. */
  allocationBytes: number;
  /** Host size of the container (`ls -l`); for a block device its size. */
  physicalBytes: number;
}

/** The disk formats whose block info evirt computes. */
export type DiskFormat = "raw" | "qcow2";

/** An inactive disk's source as the domain definition declares it. */
export interface InactiveDiskSource {
  /** Absolute path of the file or block device. */
  path: string;
  /** The format of `<driver type>`: trusted, never probed. */
  format: string;
}

/** How block info reads storage; the defaults read the real file system. */
export interface BlockStorageAccess {
  /** Container facts of a path. Default {@linkcode readStorageInfo}. */
  readStorage: StorageReader;
  /** The qcow2 header at the start of a path. Default {@linkcode readQcow2Header}. */
  readQcow2Header: (path: string) => Promise<Qcow2Header>;
  /**
   * A simulated storage's own block info of a disk of an inactive domain, instead of the rules
   * below (libvirt's test driver answers fixed figures in every state).
   */
  inactiveBlockInfo?: (source: InactiveDiskSource) => Promise<BlockInfo>;
}

const REAL_STORAGE: BlockStorageAccess = {
  readStorage: (path) => readStorageInfo(path),
  readQcow2Header: (path) => readQcow2Header(path),
};

/**
 * Block info of a disk of an inactive domain, read from storage (reference §4, inactive table):
 *
 * | source | capacity | allocation | physical |
 * | --- | --- | --- | --- |
 * | raw file | st_size | st_blocks × 512 | st_size |
 * | qcow2 file | header virtual size | st_blocks × 512 | st_size |
 * | raw block device | size | size | size |
 * | qcow2 block device | header virtual size | 0 | size |
 *
 * @param source The disk's path and declared format.
 * @param access How storage is read; default the real file system.
 * @returns The three figures.
 * @throws {VirtError} `CONFIG_UNSUPPORTED` for a format other than raw or qcow2; the storage
 *   reader's errors (`SYSTEM_ERROR`, `OPERATION_UNSUPPORTED`, `OPERATION_TIMEOUT`); a
 *   `Qcow2HeaderError` when a qcow2 disk has no sound header.
 *
 * @example A sparse raw file
 * ```ts
 * import { blockInfoInactive } from "./block_info.ts";
 * const info = await blockInfoInactive({ path: "/images/a.raw", format: "raw" }, {
 *   readStorage: (path) =>
 *     Promise.resolve({ kind: "file", path, sizeBytes: 1073741824, allocatedBytes: 5251072 }),
 *   readQcow2Header: () => Promise.reject(new Error("not qcow2")),
 * });
 * console.log(info); // { capacityBytes: 1073741824, allocationBytes: 5251072, physicalBytes: 1073741824 }
 * ```
 */
export async function blockInfoInactive(
  source: InactiveDiskSource,
  access: BlockStorageAccess = REAL_STORAGE,
): Promise<BlockInfo> {
  if (access.inactiveBlockInfo !== undefined) return await access.inactiveBlockInfo(source);
  const format = diskFormat(source);
  const storage = await access.readStorage(source.path);
  const capacityBytes = format === "qcow2"
    ? (await access.readQcow2Header(source.path)).virtualSizeBytes
    : storage.sizeBytes;
  if (storage.kind === "file") {
    return checked({
      capacityBytes,
      allocationBytes: storage.allocatedBytes,
      physicalBytes: storage.sizeBytes,
    });
  }
  // A block device has no sparse allocation to measure; a qcow2 image inside one has no
  // meaningful allocation without walking its tables, which libvirt reports as 0.
  return checked({
    capacityBytes,
    allocationBytes: format === "raw" ? storage.sizeBytes : 0,
    physicalBytes: storage.sizeBytes,
  });
}

/**
 * Block info of a disk of a running domain (reference §4, running rules), from the figures its
 * driver reports:
 *
 * 1. capacity = the image's virtual size;
 * 2. allocation = the image's allocated bytes for qcow2 on a regular file, else the container's
 *    highest written offset; the allocated bytes when that is 0 or not reported;
 * 3. physical = the container's size re-read from storage when the allocated bytes are 0,
 *    allocation is 0, or allocation equals the allocated bytes; else the allocated bytes. When
 *    that re-read fails, physical is the allocated bytes (libvirt does the same rather than fail
 *    the call).
 *
 * @param figures The disk's figures from its driver.
 * @param readStorage Reads the container's size; default {@linkcode readStorageInfo}.
 * @returns The three figures.
 * @throws {VirtError} `INTERNAL_ERROR` when the driver has no figures for the disk, could not
 *   read them, or did not describe its image, container or virtual size.
 *
 * @example A raw disk written at 100 MiB
 * ```ts
 * import { blockInfoRunning } from "./block_info.ts";
 * const info = await blockInfoRunning({
 *   target: "vda",
 *   path: "/images/a.raw",
 *   reported: true,
 *   counters: {},
 *   highestOffsetBytes: 106954752,
 *   image: { format: "raw", containerKind: "file", capacityBytes: 1073741824, allocatedBytes: 5251072 },
 * });
 * console.log(info); // { capacityBytes: 1073741824, allocationBytes: 106954752, physicalBytes: 5251072 }
 * ```
 */
export async function blockInfoRunning(
  figures: BlockFigures,
  readStorage: StorageReader = REAL_STORAGE.readStorage,
): Promise<BlockInfo> {
  assertNoFault(figures);
  const target = figures.target;
  if (!figures.reported) {
    throw new VirtError(ErrorCode.INTERNAL_ERROR, `failed to gather stats for disk '${target}'`, {
      where: target,
    });
  }
  const image = figures.image;
  if (figures.imageGap !== undefined || image?.containerKind === undefined) {
    throw new VirtError(
      ErrorCode.INTERNAL_ERROR,
      figures.imageGap ?? `the driver did not describe the image of disk '${target}'`,
      { where: target },
    );
  }
  const capacityBytes = image.capacityBytes;
  if (capacityBytes === undefined) {
    throw new VirtError(
      ErrorCode.INTERNAL_ERROR,
      `the driver did not report the virtual size of disk '${target}'`,
      { where: target },
    );
  }
  const actualBytes = image.allocatedBytes ?? 0;
  const qcow2OnFile = image.format === "qcow2" && image.containerKind === "file";
  let allocationBytes = qcow2OnFile ? actualBytes : figures.highestOffsetBytes ?? 0;
  if (actualBytes !== 0 && allocationBytes !== 0 && allocationBytes !== actualBytes) {
    return checked({ capacityBytes, allocationBytes, physicalBytes: actualBytes });
  }
  // Any zero, or the two equal, means the allocated bytes say nothing about the container's size.
  if (allocationBytes === 0) allocationBytes = actualBytes;
  const containerBytes = await containerSizeBytes(readStorage, figures.path);
  return checked({ capacityBytes, allocationBytes, physicalBytes: containerBytes ?? actualBytes });
}

/** One `block.<n>.*` stats key and its value. */
export interface BlockStatsField {
  /** The full key, e.g. `block.0.rd.reqs`. */
  key: string;
  /** Its value (bytes, requests or nanoseconds). */
  value: number;
}

/** What {@linkcode blockStatsFields} reports from. */
export type BlockStatsSource =
  | {
    /** A disk of a running domain: its driver's figures, storage re-read only for physical. */
    state: "running";
    /** The disk's figures from its driver. */
    figures: BlockFigures;
    /** Reads the container's size; default {@linkcode readStorageInfo}. */
    readStorage?: StorageReader;
  }
  | {
    /** A disk of an inactive domain, whose block info was read from storage. */
    state: "inactive";
    /** From {@linkcode blockInfoInactive}. */
    info: BlockInfo;
  };

/**
 * The numeric `block.<n>.*` keys of the stats contract for one disk (reference §5), in libvirt's
 * order: `rd.reqs`, `rd.bytes`, `rd.times`, `wr.reqs`, `wr.bytes`, `wr.times`, `fl.reqs`,
 * `fl.times`, `allocation`, `capacity`, `physical`. (`name`, `path` and `backingIndex` come from
 * the domain definition, not from here.)
 *
 * Running: the counters of the device; allocation = the container's highest written offset
 * (wr_highest_offset), emitted even when 0; capacity = the virtual size when non-zero; physical =
 * the image's allocated bytes, re-read from storage when that is 0 (left out if the re-read
 * fails). When the driver has no stats for the disk, nothing is emitted: storage that might hang
 * is not touched. Inactive: each of allocation, capacity and physical only when non-zero.
 *
 * @param index The disk's position `n` in the domain's disk list.
 * @param source Where the figures come from.
 * @returns The keys and values, possibly none.
 * @throws {VirtError} `INTERNAL_ERROR` when the driver could not read the disk's figures.
 *
 * @example An inactive qcow2 on a block device
 * ```ts
 * import { blockStatsFields } from "./block_info.ts";
 * const fields = await blockStatsFields(1, {
 *   state: "inactive",
 *   info: { capacityBytes: 1073741824, allocationBytes: 0, physicalBytes: 2147483648 },
 * });
 * console.log(fields.map(({ key }) => key)); // ["block.1.capacity", "block.1.physical"]
 * ```
 */
export async function blockStatsFields(
  index: number,
  source: BlockStatsSource,
): Promise<BlockStatsField[]> {
  if (!Number.isSafeInteger(index) || index < 0) {
    throw new TypeError(`Cannot name block stats: index must be >= 0, received ${index}`);
  }
  const prefix = `block.${index}.`;
  const values = source.state === "inactive"
    ? inactiveStatsValues(source.info)
    : await runningStatsValues(source.figures, source.readStorage ?? readStorageInfo);
  return values.map(([name, value]) => ({ key: `${prefix}${name}`, value }));
}

function inactiveStatsValues(info: BlockInfo): Array<[string, number]> {
  const values: Array<[string, number]> = [
    ["allocation", info.allocationBytes],
    ["capacity", info.capacityBytes],
    ["physical", info.physicalBytes],
  ];
  return values.filter(([, value]) => value !== 0);
}

async function runningStatsValues(
  figures: BlockFigures,
  readStorage: StorageReader,
): Promise<Array<[string, number]>> {
  assertNoFault(figures);
  if (!figures.reported) return [];
  const counters = figures.counters;
  const values: Array<[string, number | undefined]> = [
    ["rd.reqs", counters.readRequests],
    ["rd.bytes", counters.readBytes],
    ["rd.times", counters.readTimeNs],
    ["wr.reqs", counters.writeRequests],
    ["wr.bytes", counters.writeBytes],
    ["wr.times", counters.writeTimeNs],
    ["fl.reqs", counters.flushRequests],
    ["fl.times", counters.flushTimeNs],
    ["allocation", figures.highestOffsetBytes],
  ];
  const image = figures.image;
  if (image !== undefined) {
    const capacityBytes = image.capacityBytes ?? 0;
    values.push(["capacity", capacityBytes === 0 ? undefined : capacityBytes]);
    const actualBytes = image.allocatedBytes ?? 0;
    values.push([
      "physical",
      actualBytes !== 0 ? actualBytes : await containerSizeBytes(readStorage, figures.path),
    ]);
  }
  return values.filter((entry): entry is [string, number] => entry[1] !== undefined);
}

function diskFormat(source: InactiveDiskSource): DiskFormat {
  if (source.format === "raw" || source.format === "qcow2") return source.format;
  throw new VirtError(
    ErrorCode.CONFIG_UNSUPPORTED,
    `unsupported disk format '${source.format}' for block info of '${source.path}'`,
    { where: source.path },
  );
}

/** The container's size, or undefined when it cannot be read (the caller falls back). */
async function containerSizeBytes(
  readStorage: StorageReader,
  path: string | undefined,
): Promise<number | undefined> {
  if (path === undefined) return undefined;
  let storage: StorageInfo;
  try {
    storage = await readStorage(path);
  } catch (error) {
    // libvirt keeps the hypervisor's figure when storage cannot be read; the call itself still succeeds.
    // Anything but an operating error is a bug and must surface.
    if (error instanceof VirtError) return undefined;
    throw error;
  }
  return storage.sizeBytes;
}

function checked(info: BlockInfo): BlockInfo {
  for (const [name, value] of Object.entries(info)) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new Error(`Invariant: block info ${name} is a safe non-negative integer, got ${value}`);
    }
  }
  return info;
}
