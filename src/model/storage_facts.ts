/**
 * The facts of a storage pool's life and of its volumes, as stored in the event log: one stream
 * per pool (`pool/<uuid>`), volume facts included, so one pool's history folds in order.
 *
 * Facts say what happened. Anything that changes the host (a directory made or removed, a
 * volume file made, removed, resized or wiped) is preceded by an intent naming what will
 * exist, so a crash at any instant leaves a log recovery can finish or undo from. Sizes are
 * bytes as JSON numbers (safe integers: up to 8 PiB).
 *
 * @module
 */

import type { PoolDefinition } from "./storage_pool.ts";

/** The stream of the pool with `uuid`. */
export function poolStream(uuid: string): string {
  return `pool/${uuid}`;
}

/** The uuid of a pool stream, or undefined for another stream. */
export function uuidOfPoolStream(stream: string): string | undefined {
  return stream.startsWith("pool/") ? stream.slice("pool/".length) : undefined;
}

/** A volume as a refresh or a create found it. */
export interface VolumeRecord {
  /** Name, unique in the pool. */
  name: string;
  /** `file`, `block`, `dir`… */
  type: string;
  /** Absolute path (also its key for file volumes). */
  path: string;
  /** Format (`raw`, `qcow2`, …), as probed or created. */
  format: string;
  /** Capacity, bytes. */
  capacityBytes: number;
  /** Allocation, bytes. */
  allocationBytes: number;
  /** Physical size (a file's length), bytes, when known. */
  physicalBytes?: number;
  /** Backing file path, when it has one. */
  backingPath?: string;
  /** Backing file format, when known. */
  backingFormat?: string;
  /** A sparse logical volume (a snapshot with a virtual size), which libvirt will not wipe. */
  sparse?: boolean;
}

/** What a volume create will make. */
export interface VolumePlan {
  /** The volume's name. */
  name: string;
  /** The file to make. */
  path: string;
  /** Its format. */
  format: string;
  /** Its capacity, bytes. */
  capacityBytes: number;
  /** Backing file, for qcow2. */
  backingPath?: string;
  /** Backing file format. */
  backingFormat?: string;
}

/**
 * The long volume operations that run as jobs outside the pool's queue: a create that fills
 * the file (an allocation asked), a clone (`qemu-img convert`), a wipe, an upload.
 */
export type VolumeJobKind = "create" | "clone" | "wipe" | "upload";

/** How a volume job ended when it did not end with its own fact (`volume.created`, `.wiped`). */
export type VolumeJobOutcome = "done" | "cancelled" | "failed" | "interrupted";

/** Wipe algorithms (virStorageVolWipeAlgorithm) evirt runs: zero-filling only. */
export type WipeAlgorithm = "zero";

/** The body of each storage fact type. */
export interface StorageFactBodies {
  /**
   * A pool definition was added or replaced. `persistent` is false for a pool created from XML
   * without a definition (`pool-create`): it is forgotten when it stops.
   */
  "pool.defined": { definition: PoolDefinition; detail: "added" | "updated"; persistent: boolean };
  /** The pool's definition was removed. */
  "pool.undefined": Record<string, never>;
  /**
   * Intent: the pool's target is about to be made (mkdir, mode, owner) and, when `format` is
   * set, `devices` formatted with it (`mkfs` for `fs`, `pvcreate` + `vgcreate` for `logical`,
   * whose `format` is blkid's `LVM2_member`).
   */
  "pool.building": { path: string; overwrite: boolean; format?: string; devices?: string[] };
  /** The target exists as the definition asks. */
  "pool.built": Record<string, never>;
  /** Intent: the pool's source is about to be mounted or activated (`mount`, `vgchange -aly`). */
  "pool.starting": { command: string[] };
  /** The pool is active (its target checked). */
  "pool.started": Record<string, never>;
  /** Intent: the pool's source is about to be unmounted or deactivated. */
  "pool.stopping": { command: string[] };
  /** The pool is inactive. */
  "pool.stopped": Record<string, never>;
  /** Intent: the pool's target is about to be removed. */
  "pool.deleting": { path: string };
  /** The target is gone. */
  "pool.deleted": Record<string, never>;
  /**
   * A listing of the pool: `volumes` is the whole set (others are gone), as logs written before
   * refreshes recorded changes have it; otherwise only what changed since the volumes known —
   * `changed` appeared or differ, `removed` are gone (a start's listing is all `changed`).
   */
  "pool.refreshed": { volumes: VolumeRecord[] } | { changed: VolumeRecord[]; removed: string[] };
  /** A running pool's target cannot be read. */
  "pool.inaccessible": { reason: string };
  /** A running pool works with part of its source missing (a volume group lacking a device). */
  "pool.degraded": { reason: string };
  /** Autostart was switched on or off. */
  "pool.autostart_changed": { autostart: boolean };
  /** Intent: a volume is about to be made. */
  "volume.creating": VolumePlan;
  /** The volume exists as found. */
  "volume.created": { volume: VolumeRecord };
  /** Intent: a volume is about to be removed. */
  "volume.deleting": { name: string; path: string };
  /** The volume is gone. */
  "volume.deleted": { name: string };
  /** Intent: a volume is about to change size. */
  "volume.resizing": { name: string; capacityBytes: number };
  /** The volume has its new size. */
  "volume.resized": { name: string; capacityBytes: number; allocationBytes: number };
  /** Intent: a volume's content is about to be wiped. */
  "volume.wiping": { name: string; algorithm: WipeAlgorithm };
  /** The volume's content is wiped. */
  "volume.wiped": { name: string; allocationBytes: number };
  /**
   * Intent: a long job on volume `name` is about to change `path` (a create or clone makes it:
   * `plan` says what; a wipe or upload writes it). Until the job ends the volume is busy; a
   * volume being made is not counted in the pool.
   */
  "volume.job_started": {
    name: string;
    job: VolumeJobKind;
    path: string;
    plan?: VolumePlan;
    /** A clone's source volume (pool uuid and name). */
    source?: { pool: string; name: string };
    /** Bytes the job will move, when known. */
    bytesTotal?: number;
  };
  /**
   * A volume job ended without its own fact: an upload done, or any job cancelled, failed or
   * cut by a restart. `removed`: the half-made volume of a create or clone was removed; a
   * wiped or uploaded volume stays as the job left it (`reason` says how).
   */
  "volume.job_ended": {
    name: string;
    job: VolumeJobKind;
    outcome: VolumeJobOutcome;
    removed: boolean;
    bytesDone?: number;
    reason?: string;
  };
  /** The pending intent ended without its action taking effect (or was undone). */
  "storage.intent_abandoned": { intent: StorageIntentKind };
}

/** The kinds of intent a pool may have pending. */
export type StorageIntentKind =
  | "build"
  | "start"
  | "stop"
  | "delete"
  | "create"
  | "remove"
  | "resize"
  | "wipe";

/** Every storage fact type. */
export type StorageFactType = keyof StorageFactBodies;

/** A storage fact: its type and body. */
export type StorageFact = {
  [T in StorageFactType]: { type: T; body: StorageFactBodies[T] };
}[StorageFactType];

/** What each fact records (see `facts.ts`): a decision, an intent, or a happening. */
export const STORAGE_FACT_KINDS: Readonly<
  Record<StorageFactType, "decision" | "intent" | "happening">
> = {
  "pool.defined": "decision",
  "pool.undefined": "decision",
  "pool.building": "intent",
  "pool.built": "happening",
  "pool.starting": "intent",
  "pool.started": "happening",
  "pool.stopping": "intent",
  "pool.stopped": "happening",
  "pool.deleting": "intent",
  "pool.deleted": "happening",
  "pool.refreshed": "happening",
  "pool.inaccessible": "happening",
  "pool.degraded": "happening",
  "pool.autostart_changed": "decision",
  "volume.creating": "intent",
  "volume.created": "happening",
  "volume.deleting": "intent",
  "volume.deleted": "happening",
  "volume.resizing": "intent",
  "volume.resized": "happening",
  "volume.wiping": "intent",
  "volume.wiped": "happening",
  "volume.job_started": "intent",
  "volume.job_ended": "happening",
  "storage.intent_abandoned": "intent",
};

/** Every storage fact type, for validation of facts read from the log. */
export const STORAGE_FACT_TYPES: readonly StorageFactType[] = Object.keys(
  STORAGE_FACT_KINDS,
) as StorageFactType[];

/** Whether `type` is a storage fact type. */
export function isStorageFactType(type: string): type is StorageFactType {
  return (STORAGE_FACT_TYPES as readonly string[]).includes(type);
}
