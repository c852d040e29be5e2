/**
 * An `fs` pool's work on the host, as libvirt 9.0's file system backend does it on Linux:
 * `pool-build` makes the target directory and, with `--overwrite` or `--no-overwrite`, formats
 * the source device (`mkfs -t FORMAT [-F|-f|-I] DEVICE`; `--no-overwrite` probes first and
 * refuses a device that holds anything); `pool-start` mounts the device on the target
 * (`mount -o nodev,nosuid,noexec[,fs:mount_opts] -t FORMAT DEVICE TARGET`) unless it is already
 * mounted there; `pool-destroy` unmounts it (`umount TARGET`). Volumes are files, as in `dir`.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";
import type { PoolDefinition } from "../model/storage_pool.ts";
import { requireEmptyDevice } from "./device_probe.ts";
import { runStorageCommand } from "./storage_command.ts";

/** The mount options libvirt always gives on Linux. */
export const FS_MOUNT_DEFAULT_OPTIONS = "nodev,nosuid,noexec";

/** Largest mount table read, in bytes. */
const MOUNT_TABLE_MAX_BYTES = 16 * 1024 * 1024;

/**
 * The source device of an `fs` pool.
 *
 * @throws {VirtError} Code 1 `missing source device`, 67 for more than one device.
 */
export function fsSourceDevice(definition: PoolDefinition): string {
  const devices = definition.source.devices;
  if (devices.length === 0) {
    throw new VirtError(ErrorCode.INTERNAL_ERROR, "missing source device");
  }
  if (devices.length > 1) {
    throw new VirtError(
      ErrorCode.CONFIG_UNSUPPORTED,
      "expected exactly 1 device for the storage pool",
    );
  }
  return devices[0].path;
}

function targetOf(definition: PoolDefinition): string {
  if (definition.targetPath === undefined) {
    throw new Error(`Pool ${definition.name} has no target path`);
  }
  return definition.targetPath;
}

/**
 * The `mount` command line of an `fs` pool.
 *
 * @example
 * ```ts ignore
 * fsMountArgv(definition).join(" ");
 * // "mount -o nodev,nosuid,noexec -t ext4 /dev/loop0 /srv/pool"
 * ```
 */
export function fsMountArgv(definition: PoolDefinition): string[] {
  const options = [
    FS_MOUNT_DEFAULT_OPTIONS,
    ...(definition.namespaceOptions ?? []).map((option) => option.name),
  ];
  return [
    "mount",
    "-o",
    options.join(","),
    "-t",
    definition.source.format ?? "auto",
    fsSourceDevice(definition),
    targetOf(definition),
  ];
}

/** The `umount` command line of an `fs` pool. */
export function fsUnmountArgv(definition: PoolDefinition): string[] {
  return ["umount", targetOf(definition)];
}

/**
 * The `mkfs` command line libvirt runs to format `device` as `format`: forced, since the
 * decision to overwrite was made before.
 *
 * @example
 * ```ts
 * import { mkfsArgv } from "./fs_pool.ts";
 * console.log(mkfsArgv("/dev/loop0", "ext4").join(" ")); // "mkfs -t ext4 -F /dev/loop0"
 * ```
 */
export function mkfsArgv(device: string, format: string): string[] {
  const force = format === "xfs"
    ? ["-f"]
    : format === "ext2" || format === "ext3" || format === "ext4"
    ? ["-F"]
    : format === "vfat"
    ? ["-I"]
    : [];
  return ["mkfs", "-t", format, ...force, device];
}

/**
 * Formats the pool's device (`pool-build --overwrite` / `--no-overwrite`).
 *
 * @throws {VirtError} Code 55 when the device is missing; 76 (from the probe) when
 *   `--no-overwrite` finds something on it; 1 when mkfs fails.
 */
export async function makePoolFileSystem(
  definition: PoolDefinition,
  overwrite: boolean,
): Promise<void> {
  const device = fsSourceDevice(definition);
  const format = definition.source.format ?? "auto";
  try {
    await Deno.stat(device);
  } catch {
    throw new VirtError(
      ErrorCode.OPERATION_INVALID,
      `Source device does not exist when formatting pool '${definition.name}'`,
      { where: device },
    );
  }
  if (!overwrite) await requireEmptyDevice(device, format);
  await runStorageCommand(mkfsArgv(device, format));
}

/** `/proc/mounts` escapes space, tab, newline and backslash as octal. */
function unescapeMountField(field: string): string {
  return field.replace(
    /\\([0-7]{3})/g,
    (_, octal: string) => String.fromCharCode(parseInt(octal, 8)),
  );
}

async function canonical(path: string): Promise<string> {
  return await Deno.realPath(path).catch(() => path);
}

/**
 * Whether the pool's device is mounted on its target (both compared after resolving links,
 * as libvirt compares them).
 *
 * @throws {VirtError} Code 38 when the mount table cannot be read.
 */
export async function isPoolMounted(definition: PoolDefinition): Promise<boolean> {
  let table: string;
  try {
    const bytes = await Deno.readFile("/proc/mounts");
    table = new TextDecoder().decode(bytes.subarray(0, MOUNT_TABLE_MAX_BYTES));
  } catch (error) {
    throw new VirtError(
      ErrorCode.SYSTEM_ERROR,
      `cannot read mount list '/proc/mounts': ${String(error)}`,
      { cause: error },
    );
  }
  const target = await canonical(targetOf(definition));
  const device = await canonical(fsSourceDevice(definition));
  for (const line of table.split("\n")) {
    const [source, dir] = line.split(" ");
    if (source === undefined || dir === undefined) continue;
    if (
      await canonical(unescapeMountField(dir)) === target &&
      await canonical(unescapeMountField(source)) === device
    ) return true;
  }
  return false;
}

/**
 * Mounts the pool's device on its target unless it already is (`pool-start`).
 *
 * @throws {VirtError} Code 1 when mount fails.
 */
export async function mountPool(definition: PoolDefinition): Promise<void> {
  if (await isPoolMounted(definition)) return;
  await runStorageCommand(fsMountArgv(definition), 60_000);
}

/**
 * Unmounts the pool's target unless it is not mounted (`pool-destroy`).
 *
 * @throws {VirtError} Code 1 when umount fails (the target is busy…).
 */
export async function unmountPool(definition: PoolDefinition): Promise<void> {
  if (!(await isPoolMounted(definition))) return;
  await runStorageCommand(fsUnmountArgv(definition), 60_000);
}
