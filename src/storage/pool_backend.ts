/**
 * What each pool type does on the host, behind one interface the pool commands call: `dir`
 * (a directory), `fs` (a device formatted and mounted on the directory; volumes are files as in
 * `dir`) and `logical` (an LVM volume group; volumes are logical volumes).
 *
 * Each method does one thing to the world and returns; the pool actor records the intent before
 * calling it and the outcome after. The `is…` questions are recovery's: after a crash they tell
 * whether an interrupted action took effect.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";
import type { VolumeRecord } from "../model/storage_facts.ts";
import type { PoolDefinition, PoolFigures, PoolType } from "../model/storage_pool.ts";
import { probeDeviceSignature } from "./device_probe.ts";
import {
  buildPoolDirectory,
  checkPoolDirectory,
  copyJobOf,
  createVolumeFile,
  type DirVolumeCreate,
  poolDirectoryFigures,
  removePoolDirectory,
  removeVolumeFile,
  resizeVolumeFile,
  type VolumeWork,
  wipeVolumeFile,
} from "./dir_pool.ts";
import {
  fsMountArgv,
  fsSourceDevice,
  fsUnmountArgv,
  isPoolMounted,
  makePoolFileSystem,
  mountPool,
  unmountPool,
} from "./fs_pool.ts";
import {
  buildVolumeGroup,
  createLogicalVolume,
  deleteVolumeGroup,
  removeLogicalVolume,
  scanVolumeGroup,
  startVolumeGroup,
  stopVolumeGroup,
  vgchangeArgv,
  volumeGroupDegradation,
  volumeGroupExists,
  volumeGroupFigures,
  wipeLogicalVolume,
} from "./logical_pool.ts";
import { qemuImgConvertArgs, runQemuImgJob } from "./qemu_img.ts";
import type { PoolScanner } from "./pool_scanner.ts";
import { type VolumeChanges, volumeChanges } from "./volume_changes.ts";

/** How `pool-build` was asked to treat what is on the devices. */
export type BuildMode = "default" | "overwrite" | "no-overwrite";

/** What a build will format, for its intent: the format and the devices, or nothing. */
export interface BuildFormatting {
  format: string;
  devices: string[];
}

/** One pool type's work on the host. */
export interface PoolBackend {
  /** What `build` in `mode` formats (recorded in the intent), or undefined when it formats nothing. */
  formatting(definition: PoolDefinition, mode: BuildMode): BuildFormatting | undefined;
  /** `pool-build`. */
  build(definition: PoolDefinition, mode: BuildMode): Promise<void>;
  /** Whether an interrupted build took effect. */
  isBuilt(definition: PoolDefinition, formatting: BuildFormatting | undefined): Promise<boolean>;
  /** The command `start` runs (recorded in the intent), or undefined when it changes nothing. */
  startCommand(definition: PoolDefinition): string[] | undefined;
  /** `pool-start`: check, then mount or activate. */
  start(definition: PoolDefinition): Promise<void>;
  /** Whether the pool's source is mounted or active (recovery; a pool found running). */
  isStarted(definition: PoolDefinition): Promise<boolean>;
  /** The command `stop` runs (recorded in the intent), or undefined when it changes nothing. */
  stopCommand(definition: PoolDefinition): string[] | undefined;
  /** `pool-destroy`: unmount or deactivate. */
  stop(definition: PoolDefinition): Promise<void>;
  /** `pool-delete`. */
  remove(definition: PoolDefinition): Promise<void>;
  /** Whether an interrupted delete took effect. */
  isRemoved(definition: PoolDefinition): Promise<boolean>;
  /** Why the running pool is degraded (part of its source missing), or undefined. */
  degradation(definition: PoolDefinition): Promise<string | undefined>;
  /** The volumes now there, as the changes against `known` (a directory scans on `scanner`'s thread). */
  scanChanges(
    definition: PoolDefinition,
    known: Record<string, VolumeRecord>,
    scanner: PoolScanner,
  ): Promise<VolumeChanges>;
  /** Capacity, allocation, available. */
  figures(definition: PoolDefinition): Promise<PoolFigures>;
  /** Makes a volume (a copy of `source` when given); `work` cancels it and hears progress. */
  createVolume(
    definition: PoolDefinition,
    name: string,
    plan: DirVolumeCreate,
    source?: VolumeRecord,
    work?: VolumeWork,
  ): Promise<VolumeRecord>;
  /** Removes a volume; one already gone is not an error. */
  removeVolume(path: string): Promise<void>;
  /** Changes a volume's capacity. */
  resizeVolume(volume: VolumeRecord, capacityBytes: number, shrink: boolean): Promise<VolumeRecord>;
  /** Zero-fills a volume; `work` cancels it (the volume stays part zeroed) and hears progress. */
  wipeVolume(volume: VolumeRecord, work?: VolumeWork): Promise<VolumeRecord>;
}

function targetOf(definition: PoolDefinition): string {
  if (definition.targetPath === undefined) {
    throw new Error(`Pool ${definition.name} has no target path`);
  }
  return definition.targetPath;
}

async function pathGone(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => false, () => true);
}

const DIR_BACKEND: PoolBackend = {
  formatting: () => undefined,
  build: (definition) => buildPoolDirectory(targetOf(definition), definition.targetPermissions),
  isBuilt: async (definition) => !(await pathGone(targetOf(definition))),
  startCommand: () => undefined,
  start: (definition) => checkPoolDirectory(targetOf(definition)),
  isStarted: async (definition) => !(await pathGone(targetOf(definition))),
  stopCommand: () => undefined,
  stop: () => Promise.resolve(),
  remove: (definition) => removePoolDirectory(targetOf(definition)),
  isRemoved: (definition) => pathGone(targetOf(definition)),
  degradation: () => Promise.resolve(undefined),
  scanChanges: async (definition, known, scanner) =>
    (await scanner.changes(targetOf(definition), known)).changes,
  figures: (definition) => poolDirectoryFigures(targetOf(definition)),
  createVolume: (definition, name, plan, source, work) =>
    createVolumeFile(targetOf(definition), name, plan, source, work),
  removeVolume: removeVolumeFile,
  resizeVolume: resizeVolumeFile,
  wipeVolume: wipeVolumeFile,
};

const FS_BACKEND: PoolBackend = {
  ...DIR_BACKEND,
  formatting: (definition, mode) =>
    mode === "default"
      ? undefined
      : { format: definition.source.format ?? "auto", devices: [fsSourceDevice(definition)] },
  build: async (definition, mode) => {
    await buildPoolDirectory(targetOf(definition), definition.targetPermissions);
    if (mode !== "default") await makePoolFileSystem(definition, mode === "overwrite");
  },
  isBuilt: async (definition, formatting) => {
    if (await pathGone(targetOf(definition))) return false;
    if (formatting === undefined) return true;
    const found = await probeDeviceSignature(formatting.devices[0]).catch(() => ({}));
    return "type" in found && found.type === formatting.format;
  },
  startCommand: (definition) => fsMountArgv(definition),
  start: (definition) => mountPool(definition),
  isStarted: (definition) => isPoolMounted(definition).catch(() => false),
  stopCommand: (definition) => fsUnmountArgv(definition),
  stop: (definition) => unmountPool(definition),
};

const LOGICAL_BACKEND: PoolBackend = {
  formatting: (definition) => ({
    format: "LVM2_member",
    devices: definition.source.devices.map((device) => device.path),
  }),
  build: (definition, mode) => buildVolumeGroup(definition, mode === "overwrite"),
  isBuilt: (definition) => volumeGroupExists(definition),
  startCommand: (definition) => vgchangeArgv(definition, true),
  start: (definition) => startVolumeGroup(definition),
  // Not libvirt's check (target exists and the group matches): LVM makes /dev/VG only for a
  // group with an active volume, so an empty group would look stopped.
  isStarted: (definition) => volumeGroupExists(definition),
  stopCommand: (definition) => vgchangeArgv(definition, false),
  stop: (definition) => stopVolumeGroup(definition),
  remove: (definition) => deleteVolumeGroup(definition),
  isRemoved: async (definition) => !(await volumeGroupExists(definition)),
  degradation: (definition) => volumeGroupDegradation(definition),
  scanChanges: async (definition, known) => volumeChanges(known, await scanVolumeGroup(definition)),
  figures: (definition) => volumeGroupFigures(definition),
  createVolume: async (definition, name, plan, source, work) => {
    const made = await createLogicalVolume(definition, {
      name,
      capacityBytes: plan.capacityBytes ?? 0,
      allocationBytes: plan.allocationBytes,
      ...(plan.backing === undefined ? {} : { backingPath: plan.backing.path }),
    }, plan.permissions);
    if (source === undefined) return made;
    try {
      await runQemuImgJob(
        qemuImgConvertArgs(source.path, source.format, { ...plan, format: "raw" }),
        copyJobOf(work, source.capacityBytes),
      );
    } catch (error) {
      await removeLogicalVolume(made.path).catch(() => {});
      throw error;
    }
    return made;
  },
  removeVolume: removeLogicalVolume,
  resizeVolume: () =>
    Promise.reject(
      new VirtError(
        ErrorCode.NO_SUPPORT,
        "storage pool does not support changing of volume capacity",
      ),
    ),
  wipeVolume: async (volume) => {
    await wipeLogicalVolume(volume);
    return volume;
  },
};

/**
 * The backend of a pool type.
 *
 * @throws {Error} For a type without one (definitions of such types are refused at define).
 */
export function poolBackendOf(definition: PoolDefinition): PoolBackend {
  switch (definition.type) {
    case "dir":
      return DIR_BACKEND;
    case "fs":
      return FS_BACKEND;
    case "logical":
      return LOGICAL_BACKEND;
    default:
      throw new Error(`No backend for pool type ${definition.type}`);
  }
}

/** Pool types with a backend. */
export const POOL_TYPES_WITH_BACKEND: ReadonlySet<PoolType> = new Set<PoolType>([
  "dir",
  "fs",
  "logical",
]);
