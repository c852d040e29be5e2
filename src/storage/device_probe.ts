/**
 * Whether a block device (or image) already holds a file system or a partition table, probed
 * with `blkid -p` the way libvirt 9.0 probes before it formats a device without being told to
 * overwrite (`pool-build --no-overwrite`; a `logical` pool's build unless `--overwrite`):
 * nothing found → go ahead; the expected format found → "already formatted"; another format →
 * "forced overwrite is necessary".
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";
import { runStorageTool } from "./storage_command.ts";

/** What `blkid -p` found on a device. */
export interface DeviceSignature {
  /** A file system or other superblock type (`ext4`, `LVM2_member`, …). */
  type?: string;
  /** A partition table type (`dos`, `gpt`, …). */
  partitionTable?: string;
}

/**
 * Probes `device` with `blkid -p -o export`.
 *
 * @returns What it found; an empty object when there is nothing (blkid's status 2).
 * @throws {VirtError} Code 75 when blkid fails otherwise.
 */
export async function probeDeviceSignature(device: string): Promise<DeviceSignature> {
  const output = await runStorageTool(["blkid", "-p", "-o", "export", device], 30_000);
  if (output.code === 2) return {};
  if (output.code !== 0) {
    throw new VirtError(
      ErrorCode.STORAGE_PROBE_FAILED,
      `Failed to create filesystem probe for device ${device}`,
      { where: device },
    );
  }
  const signature: DeviceSignature = {};
  for (const line of output.stdout.split("\n")) {
    const equals = line.indexOf("=");
    if (equals === -1) continue;
    const key = line.slice(0, equals);
    const value = line.slice(equals + 1);
    if (key === "TYPE") signature.type = value;
    if (key === "PTTYPE") signature.partitionTable = value;
  }
  return signature;
}

/**
 * Refuses to write `format` over a device that holds something, as libvirt's
 * virStorageBackendDeviceIsEmpty with a label to write does.
 *
 * @param format The format about to be written, in blkid's spelling (`ext4`, `LVM2_member`).
 * @throws {VirtError} Code 76 `Device '…' already formatted using '…'` or `Format of device '…'
 *   does not match the expected format '…', forced overwrite is necessary`; 75 when the probe
 *   fails.
 */
export async function requireEmptyDevice(device: string, format: string): Promise<void> {
  const found = await probeDeviceSignature(device);
  const existing = found.type ?? found.partitionTable;
  if (existing === undefined) return;
  if (existing === format) {
    throw new VirtError(
      ErrorCode.STORAGE_POOL_BUILT,
      `Device '${device}' already formatted using '${format}'`,
      { where: device },
    );
  }
  throw new VirtError(
    ErrorCode.STORAGE_POOL_BUILT,
    `Format of device '${device}' does not match the expected format '${format}', forced overwrite is necessary`,
    { where: device },
  );
}
