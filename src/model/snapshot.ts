/**
 * Domain snapshots as data (libvirt's `virDomainSnapshotDef`): what a `<domainsnapshot>`
 * document says — name, description, the domain's state when it was taken, its parent, its
 * creation time, where memory and each disk went — plus the domain definition it captured.
 *
 * @module
 */

import type { DomainDefinition } from "./domain.ts";
import type { XmlElement } from "./xml_extra.ts";

/**
 * The state a snapshot recorded (libvirt's virDomainSnapshotState: the domain states plus
 * `disk-snapshot`), by name as the XML writes it.
 */
export const SNAPSHOT_STATES = [
  "running",
  "blocked",
  "paused",
  "shutdown",
  "shutoff",
  "crashed",
  "pmsuspended",
  "disk-snapshot",
] as const;

/** One of {@linkcode SNAPSHOT_STATES}. */
export type SnapshotState = typeof SNAPSHOT_STATES[number];

/** Where a snapshot puts memory or a disk (libvirt's virDomainSnapshotLocation without `default`). */
export const SNAPSHOT_LOCATIONS = ["no", "internal", "external", "manual"] as const;

/** One of {@linkcode SNAPSHOT_LOCATIONS}. */
export type SnapshotLocation = typeof SNAPSHOT_LOCATIONS[number];

/** The storage types a disk snapshot may name (libvirt refuses `dir` and `volume`). */
export const SNAPSHOT_DISK_TYPES = ["file", "block", "network", "nvme", "vhostuser"] as const;

/** One of {@linkcode SNAPSHOT_DISK_TYPES}. */
export type SnapshotDiskType = typeof SNAPSHOT_DISK_TYPES[number];

/** One `<disks><disk>`: where one of the domain's disks goes in the snapshot. */
export interface SnapshotDisk {
  /** The disk's target (`vda`) or its source path, as the user named it. */
  name: string;
  /** Where it goes; absent: the domain's or the driver's default. */
  snapshot?: SnapshotLocation;
  /** The new image's storage type (`file` when absent). */
  type: SnapshotDiskType;
  /** The new image's path (file and block), or its name (network); absent: generated. */
  path?: string;
  /** The new image's format (`<driver type=…>`). */
  format?: string;
  /** `<driver><metadata_cache><max_size>` in bytes. */
  metadataCacheMaxBytes?: number;
  /** `<source>` as written (hosts, seclabels), kept for the round trip; absent when empty. */
  source?: XmlElement;
}

/** A `<domainsnapshot>` document. */
export interface SnapshotDefinition {
  /** The snapshot's name; absent before creation gives it one (the creation time). */
  name?: string;
  /** Free text. */
  description?: string;
  /** The domain's state when the snapshot was taken. */
  state?: SnapshotState;
  /** The parent snapshot's name; absent for a root. */
  parent?: string;
  /** When it was taken, in seconds since the epoch. */
  creationTimeSeconds?: number;
  /** Where the memory state went. */
  memory?: SnapshotLocation;
  /** The file holding the memory state of an external snapshot. */
  memoryFile?: string;
  /** Per-disk choices, in the order written (after creation: one per domain disk). */
  disks: SnapshotDisk[];
  /** The domain's definition when the snapshot was taken. */
  domain?: DomainDefinition;
  /** The domain's persistent definition, when it differed from the running one. */
  inactiveDomain?: DomainDefinition;
  /** The driver's `<cookie>` (CPU model, helpers), kept as written. */
  cookie?: XmlElement;
}

/** One snapshot as `snapshot-info` and `snapshot-list` show it. */
export interface SnapshotView {
  name: string;
  /** The domain's name. */
  domain: string;
  parent: string | null;
  current: boolean;
  state: string;
  location: "internal" | "external";
  creationTimeSeconds: number;
  description?: string;
  children: number;
  descendants: number;
  /** Every snapshot evirt lists has its record (a `--no-metadata` one is not listed). */
  metadata: true;
}
