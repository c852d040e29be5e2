/**
 * A `logical` pool's work on the host, as libvirt 9.0's LVM backend does it: build = for each
 * source device, probe (unless `--overwrite`), zero its first and last MiB, `pvcreate`; then
 * `vgcreate NAME DEVICES…` (a failure `pvremove`s what was made); start = check the volume
 * group and its devices with `pvs`, then `vgchange -aly NAME`; stop = `vgchange -aln NAME`;
 * delete = `vgremove -f NAME` and `pvremove` each device. Volumes are logical volumes:
 * `lvcreate --name N -L SIZEK NAME --yes` (sparse — a snapshot with `--virtualsize` — when the
 * allocation is below the capacity), `lvremove -f PATH`; refresh and figures read `lvs` and
 * `vgs` with libvirt's options.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";
import type { VolumeRecord } from "../model/storage_facts.ts";
import type { PoolDefinition, PoolFigures, StoragePermissions } from "../model/storage_pool.ts";
import { requireEmptyDevice } from "./device_probe.ts";
import { runStorageCommand, runStorageTool } from "./storage_command.ts";
import { storageSystemError } from "./storage_info.ts";

/** Bytes zeroed at each end of a device before `pvcreate` (libvirt: 1 MiB). */
export const PV_ZERO_BYTES = 1024 * 1024;

/** Mode of a logical volume's device node when the definition names none (libvirt: 0600). */
const LV_MODE_DEFAULT = 0o600;

/** The fields libvirt asks `lvs` for, in its order. */
export const LVS_FIELDS =
  "lv_name,origin,uuid,devices,segtype,stripes,seg_size,vg_extent_size,size,lv_attr";

/** The volume group of a `logical` pool (its `<source><name>`, the pool's name by default). */
export function volumeGroupOf(definition: PoolDefinition): string {
  return definition.source.name ?? definition.name;
}

/** `vgchange -aly NAME` / `-aln`. */
export function vgchangeArgv(definition: PoolDefinition, on: boolean): string[] {
  return ["vgchange", on ? "-aly" : "-aln", volumeGroupOf(definition)];
}

/** `vgcreate NAME DEVICES…`. */
export function vgcreateArgv(definition: PoolDefinition): string[] {
  return [
    "vgcreate",
    volumeGroupOf(definition),
    ...definition.source.devices.map((device) => device.path),
  ];
}

/** `lvs` with libvirt's options for the pool's volume group. */
export function lvsArgv(definition: PoolDefinition): string[] {
  return [
    "lvs",
    "--separator",
    "#",
    "--noheadings",
    "--units",
    "b",
    "--unbuffered",
    "--nosuffix",
    "--options",
    LVS_FIELDS,
    volumeGroupOf(definition),
  ];
}

/** `vgs` with libvirt's options for the pool's volume group. */
export function vgsArgv(definition: PoolDefinition): string[] {
  return [
    "vgs",
    "--separator",
    ":",
    "--noheadings",
    "--units",
    "b",
    "--unbuffered",
    "--nosuffix",
    "--options",
    "vg_size,vg_free",
    volumeGroupOf(definition),
  ];
}

/** What an `lvcreate` makes. */
export interface LogicalVolumePlan {
  /** The volume's name. */
  name: string;
  /** Capacity, bytes. */
  capacityBytes: number;
  /** Allocation, bytes: below the capacity, the volume is sparse (a snapshot with a virtual size). */
  allocationBytes: number;
  /** A logical volume of the pool to snapshot, by path. */
  backingPath?: string;
}

/**
 * libvirt's `lvcreate` command line.
 *
 * @example
 * ```ts ignore
 * lvcreateArgv(definition, { name: "a", capacityBytes: 1 << 30, allocationBytes: 1 << 30 }).join(" ");
 * // "lvcreate --name a -L 1048576K vg --yes"
 * ```
 */
export function lvcreateArgv(definition: PoolDefinition, plan: LogicalVolumePlan): string[] {
  const argv = ["lvcreate", "--name", plan.name, "-L"];
  if (plan.capacityBytes !== plan.allocationBytes) {
    argv.push(
      `${Math.ceil((plan.allocationBytes === 0 ? 1 : plan.allocationBytes) / 1024)}K`,
      "--type",
      "snapshot",
      "--virtualsize",
    );
  }
  argv.push(`${Math.ceil(plan.capacityBytes / 1024)}K`);
  if (plan.backingPath !== undefined) argv.push("-s", plan.backingPath);
  else argv.push(volumeGroupOf(definition));
  argv.push("--yes");
  return argv;
}

/** `lvremove -f PATH`. */
export function lvremoveArgv(path: string): string[] {
  return ["lvremove", "-f", path];
}

/** One row of libvirt's `lvs` output (a volume has one row per segment). */
export interface LvsRow {
  name: string;
  origin: string;
  uuid: string;
  devices: string;
  sizeBytes: number;
  attributes: string;
}

/** Parses `lvs` output as {@linkcode lvsArgv} asks for it; lines that do not match are skipped. */
export function parseLvs(text: string): LvsRow[] {
  const rows: LvsRow[] = [];
  const pattern = /^\s*(\S+)#(\S*)#(\S+)#(\S+)#(\S+)#([0-9]+)#(\S+)#([0-9]+)#([0-9]+)#(\S+)#?\s*$/;
  for (const line of text.split("\n")) {
    const match = pattern.exec(line);
    if (match === null) continue;
    rows.push({
      name: match[1],
      origin: match[2],
      uuid: match[3],
      devices: match[4],
      sizeBytes: Number(match[9]),
      attributes: match[10],
    });
  }
  return rows;
}

/**
 * The pool's volumes from `lvs` rows, as libvirt keeps them: active volumes only, thin pools
 * left out, one volume per name.
 */
export function volumesOfLvs(definition: PoolDefinition, rows: LvsRow[]): VolumeRecord[] {
  const target = definition.targetPath ?? `/dev/${volumeGroupOf(definition)}`;
  const volumes = new Map<string, VolumeRecord>();
  for (const row of rows) {
    if (row.attributes[4] !== "a" || row.attributes[0] === "t") continue;
    if (volumes.has(row.name)) continue;
    volumes.set(row.name, {
      name: row.name,
      type: "block",
      path: `${target}/${row.name}`,
      format: "raw",
      capacityBytes: row.sizeBytes,
      allocationBytes: row.sizeBytes,
      physicalBytes: row.sizeBytes,
      ...(row.attributes[0] === "s" ? { sparse: true } : {}),
      ...(row.origin !== "" && !row.origin.startsWith("[")
        ? { backingPath: `${target}/${row.origin}`, backingFormat: "lvm2" }
        : {}),
    });
  }
  return [...volumes.values()].sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/** The volume groups `pvs` reports, each with its physical volumes. */
export async function volumeGroupDevices(): Promise<Map<string, string[]>> {
  const output = await runStorageCommand(["pvs", "--noheadings", "-o", "pv_name,vg_name"], 60_000);
  const groups = new Map<string, string[]>();
  for (const line of output.split("\n")) {
    const match = /^\s*(\S+)\s+(\S+)\s*$/.exec(line);
    if (match === null) continue;
    groups.set(match[2], [...(groups.get(match[2]) ?? []), match[1]]);
  }
  return groups;
}

/**
 * Checks that the pool's volume group exists and holds at least one of its devices, as
 * libvirt's start does.
 *
 * @throws {VirtError} Code 67 `cannot find logical volume group name '…'` or `cannot find any
 *   matching source devices for logical volume group '…'`.
 */
export async function checkVolumeGroup(definition: PoolDefinition): Promise<void> {
  const name = volumeGroupOf(definition);
  const devices = (await volumeGroupDevices()).get(name);
  if (devices === undefined) {
    throw new VirtError(
      ErrorCode.CONFIG_UNSUPPORTED,
      `cannot find logical volume group name '${name}'`,
    );
  }
  const wanted = definition.source.devices.map((device) => device.path);
  if (wanted.length > 0 && !wanted.some((path) => devices.includes(path))) {
    throw new VirtError(
      ErrorCode.CONFIG_UNSUPPORTED,
      `cannot find any matching source devices for logical volume group '${name}'`,
    );
  }
}

/**
 * Why the volume group is degraded — LVM marks it partial when a physical volume is missing —
 * or undefined when it is whole.
 *
 * @throws {VirtError} Code 1 when vgs fails.
 */
export async function volumeGroupDegradation(
  definition: PoolDefinition,
): Promise<string | undefined> {
  const name = volumeGroupOf(definition);
  const attributes = (await runStorageCommand(
    ["vgs", "--noheadings", "-o", "vg_attr", name],
    60_000,
  )).trim();
  return attributes[3] === "p" ? `volume group '${name}' is missing a physical volume` : undefined;
}

/** Whether the volume group exists with the pool's devices (recovery's question). */
export async function volumeGroupExists(definition: PoolDefinition): Promise<boolean> {
  return await checkVolumeGroup(definition).then(() => true, () => false);
}

/** Zeroes the first and last {@linkcode PV_ZERO_BYTES} of a device, as libvirt does. */
async function zeroDeviceEnds(path: string): Promise<void> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { write: true });
  } catch (error) {
    throw storageSystemError(`cannot open device '${path}'`, path, error);
  }
  try {
    const sizeBytes = await file.seek(0, Deno.SeekMode.End);
    const length = Math.min(PV_ZERO_BYTES, sizeBytes);
    const zeros = new Uint8Array(length);
    for (const start of [0, Math.max(0, sizeBytes - length)]) {
      await file.seek(start, Deno.SeekMode.Start);
      let written = 0;
      while (written < length) written += await file.write(zeros.subarray(written));
    }
    await file.syncData();
  } catch (error) {
    throw storageSystemError(`cannot clear device header of '${path}'`, path, error);
  } finally {
    file.close();
  }
}

/**
 * Makes the volume group (`pool-build`); on failure the physical volumes made are removed.
 *
 * @throws {VirtError} Code 76 when a device holds something and `overwrite` is false; 38 when a
 *   device cannot be written; 1 when an LVM command fails.
 */
export async function buildVolumeGroup(
  definition: PoolDefinition,
  overwrite: boolean,
): Promise<void> {
  const made: string[] = [];
  try {
    for (const { path } of definition.source.devices) {
      if (!overwrite) await requireEmptyDevice(path, "LVM2_member");
      await zeroDeviceEnds(path);
      await runStorageCommand(["pvcreate", path], 60_000);
      made.push(path);
    }
    await runStorageCommand(vgcreateArgv(definition), 60_000);
  } catch (error) {
    for (const path of made) await runStorageTool(["pvremove", path], 60_000).catch(() => {});
    throw error;
  }
}

/**
 * Activates the volume group (`pool-start`) after checking it.
 *
 * @throws {VirtError} As {@linkcode checkVolumeGroup}; code 1 when vgchange fails.
 */
export async function startVolumeGroup(definition: PoolDefinition): Promise<void> {
  await checkVolumeGroup(definition);
  await runStorageCommand(vgchangeArgv(definition, true), 60_000);
}

/**
 * Deactivates the volume group (`pool-destroy`).
 *
 * @throws {VirtError} Code 1 when vgchange fails (a volume is open…).
 */
export async function stopVolumeGroup(definition: PoolDefinition): Promise<void> {
  await runStorageCommand(vgchangeArgv(definition, false), 60_000);
}

/**
 * Removes the volume group and clears its devices (`pool-delete`).
 *
 * @throws {VirtError} Code 1 when vgremove fails.
 */
export async function deleteVolumeGroup(definition: PoolDefinition): Promise<void> {
  await runStorageCommand(["vgremove", "-f", volumeGroupOf(definition)], 60_000);
  for (const { path } of definition.source.devices) {
    await runStorageTool(["pvremove", path], 60_000).catch(() => {});
  }
}

/**
 * The pool's volumes, from `lvs`.
 *
 * @throws {VirtError} Code 1 when lvs fails (the volume group is gone…).
 */
export async function scanVolumeGroup(definition: PoolDefinition): Promise<VolumeRecord[]> {
  return volumesOfLvs(definition, parseLvs(await runStorageCommand(lvsArgv(definition), 60_000)));
}

/**
 * The volume group's figures from `vgs`: capacity = size, available = free, allocation = the
 * difference.
 *
 * @throws {VirtError} Code 1 when vgs fails or prints something else.
 */
export async function volumeGroupFigures(definition: PoolDefinition): Promise<PoolFigures> {
  return parseVgs(await runStorageCommand(vgsArgv(definition), 60_000));
}

/**
 * Parses `vgs` output as {@linkcode vgsArgv} asks for it.
 *
 * @throws {VirtError} Code 1 when it is something else.
 */
export function parseVgs(output: string): PoolFigures {
  const match = /^\s*(\S+):([0-9]+):?\s*$/m.exec(output);
  if (match === null || !/^[0-9]+$/.test(match[1])) {
    throw new VirtError(ErrorCode.INTERNAL_ERROR, `cannot parse vgs output '${output.trim()}'`);
  }
  const capacityBytes = BigInt(match[1]);
  const availableBytes = BigInt(match[2]);
  return { capacityBytes, availableBytes, allocationBytes: capacityBytes - availableBytes };
}

/**
 * Makes a logical volume and sets its node's owner and mode; on any failure after lvcreate the
 * volume is removed again.
 *
 * @returns The volume as `lvs` then reports it.
 * @throws {VirtError} Code 90 when it exists, 1 when an LVM command fails, 38 on a system error.
 */
export async function createLogicalVolume(
  definition: PoolDefinition,
  plan: LogicalVolumePlan,
  permissions: StoragePermissions,
): Promise<VolumeRecord> {
  const existing = await scanVolumeGroup(definition);
  if (existing.some((volume) => volume.name === plan.name)) {
    throw new VirtError(ErrorCode.STORAGE_VOL_EXIST, `'${plan.name}'`);
  }
  await runStorageCommand(lvcreateArgv(definition, plan), 120_000);
  const path = `${definition.targetPath}/${plan.name}`;
  try {
    if (permissions.owner !== undefined || permissions.group !== undefined) {
      await Deno.chown(path, permissions.owner ?? null, permissions.group ?? null);
    }
    await Deno.chmod(path, permissions.mode ?? LV_MODE_DEFAULT);
    const made = (await scanVolumeGroup(definition)).find((volume) => volume.name === plan.name);
    if (made === undefined) {
      throw new VirtError(
        ErrorCode.SYSTEM_ERROR,
        `cannot find newly created volume '${path}'`,
      );
    }
    return made;
  } catch (error) {
    await removeLogicalVolume(path).catch(() => {});
    if (error instanceof VirtError) throw error;
    throw storageSystemError(`cannot set file mode '${path}'`, path, error);
  }
}

/**
 * Removes a logical volume (`lvremove -f`, retried after `lvchange -aln` as libvirt does). A
 * volume already gone is not an error, so an interrupted delete can be finished.
 *
 * @throws {VirtError} Code 1 when LVM refuses.
 */
export async function removeLogicalVolume(path: string): Promise<void> {
  const first = await runStorageTool(lvremoveArgv(path), 60_000);
  if (first.code === 0) return;
  const known = await runStorageTool(["lvs", "--noheadings", "-o", "lv_name", path], 60_000);
  if (known.code !== 0) return;
  await runStorageCommand(["lvchange", "-aln", path], 60_000);
  await runStorageCommand(lvremoveArgv(path), 60_000);
}

/**
 * Writes zeros over a (fully allocated) logical volume. A sparse one is refused, as libvirt
 * refuses it: writing would fill its snapshot store and deactivate it.
 *
 * @throws {VirtError} Code 3 for a sparse volume, 38 when writing fails.
 */
export async function wipeLogicalVolume(volume: VolumeRecord): Promise<void> {
  if (volume.sparse === true) {
    throw new VirtError(
      ErrorCode.NO_SUPPORT,
      `logical volume '${volume.path}' is sparse, volume wipe not supported`,
    );
  }
  let file: Deno.FsFile;
  try {
    file = await Deno.open(volume.path, { write: true });
  } catch (error) {
    throw storageSystemError(`cannot open volume '${volume.path}'`, volume.path, error);
  }
  try {
    const zeros = new Uint8Array(PV_ZERO_BYTES);
    let position = 0;
    while (position < volume.capacityBytes) {
      const chunk = zeros.subarray(0, Math.min(zeros.length, volume.capacityBytes - position));
      let written = 0;
      while (written < chunk.length) written += await file.write(chunk.subarray(written));
      position += chunk.length;
    }
    await file.syncData();
  } catch (error) {
    throw storageSystemError(`cannot wipe volume '${volume.path}'`, volume.path, error);
  } finally {
    file.close();
  }
}
