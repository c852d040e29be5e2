/**
 * A fake storage reader and block info values shared by the block info tests of storage and of
 * the QEMU driver's figures.
 *
 * @module
 */

import type { BlockInfo } from "../../../src/storage/block_info.ts";
import type { StorageInfo, StorageReader } from "../../../src/storage/storage_info.ts";
import { ErrorCode, VirtError } from "../../../src/model/errors.ts";

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

/** A storage reader over a table of files, recording which paths were read. */
export function fakeStorage(
  files: Record<string, { sizeBytes: number; allocatedBytes?: number }>,
  kind: "file" | "block" = "file",
): StorageReader & { reads: string[] } {
  const reads: string[] = [];
  const reader = (path: string): Promise<StorageInfo> => {
    reads.push(path);
    const file = files[path];
    if (file === undefined) {
      return Promise.reject(
        new VirtError(
          ErrorCode.SYSTEM_ERROR,
          `cannot stat file '${path}': No such file or directory`,
        ),
      );
    }
    return Promise.resolve(
      kind === "file"
        ? { kind, path, sizeBytes: file.sizeBytes, allocatedBytes: file.allocatedBytes ?? 0 }
        : { kind, path, sizeBytes: file.sizeBytes },
    );
  };
  return Object.assign(reader, { reads });
}

/** The three figures of block info. */
export function info(
  capacityBytes: number,
  allocationBytes: number,
  physicalBytes: number,
): BlockInfo {
  return { capacityBytes, allocationBytes, physicalBytes };
}
