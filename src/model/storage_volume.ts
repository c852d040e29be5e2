/**
 * Storage volume definitions as libvirt 9.0 knows them: volume types, qcow2 features,
 * encryption, and the typed volume definition that volume XML parses into.
 *
 * @module
 */

import type { SecretReference, StoragePermissions } from "./storage_pool.ts";

/** Volume types, in libvirt's enum order (virStorageVolType). */
export const VOLUME_TYPES = ["file", "block", "dir", "network", "netdir", "ploop"] as const;

/** One of {@linkcode VOLUME_TYPES}. */
export type VolumeType = typeof VOLUME_TYPES[number];

/** qcow2 features, in libvirt's enum order (virStorageFileFeature). */
export const VOLUME_FEATURES = ["lazy_refcounts", "extended_l2"] as const;

/** One of {@linkcode VOLUME_FEATURES}. */
export type VolumeFeature = typeof VOLUME_FEATURES[number];

/** `<encryption>` of a volume. */
export interface VolumeEncryption {
  /** `default`, `qcow`, `luks` or `luks2`. */
  format: "default" | "qcow" | "luks" | "luks2";
  /** `qemu` or `librbd`, when given. */
  engine?: "qemu" | "librbd";
  /** Secrets, in order. */
  secrets: SecretReference[];
  /** LUKS cipher. */
  cipher?: { name: string; size: number; mode?: string; hash?: string };
  /** LUKS initialisation vector generator. */
  ivgen?: { name: string; hash?: string };
}

/** File times as libvirt writes them (`seconds[.nanoseconds]`). */
export interface VolumeTimestamps {
  atime: string;
  mtime: string;
  ctime: string;
  btime: string;
}

/** A volume's backing store (`<backingStore>`). */
export interface VolumeBackingStore {
  /** Path of the backing file. */
  path: string;
  /** Its format, one of the pool's volume formats; absent when the pool has none. */
  format?: string;
  /** Its permissions. */
  permissions: StoragePermissions;
  /** Its times (written, never read). */
  timestamps?: VolumeTimestamps;
}

/** A storage volume definition, as parsed from `<volume>` XML. */
export interface VolumeDefinition {
  /** Volume type (`file` unless given; a refresh sets the real one). */
  type: VolumeType;
  /** Name, unique in its pool. */
  name: string;
  /** Key (a refresh sets it: the path for file volumes). */
  key?: string;
  /** Capacity, bytes. */
  capacityBytes: bigint;
  /** Allocation, bytes (capacity when not given). */
  allocationBytes: bigint;
  /** Whether `<allocation>` was given. */
  allocationGiven: boolean;
  /** Physical size, bytes, when known (written, never read). */
  physicalBytes?: bigint;
  /** Target path (a refresh or create sets it). */
  path?: string;
  /** Format, one of the pool's volume formats; absent when the pool has none. */
  format?: string;
  /** Permissions of the file. */
  permissions: StoragePermissions;
  /** The file's times (written, never read). */
  timestamps?: VolumeTimestamps;
  /** Encryption. */
  encryption?: VolumeEncryption;
  /** qcow2 compat level (`0.10`, `1.1`). */
  compat?: string;
  /** `<nocow/>`. */
  nocow: boolean;
  /** qcow2 cluster size, bytes (0 = default). */
  clusterSizeBytes: bigint;
  /** qcow2 features; undefined when `<features>` is absent. */
  features?: VolumeFeature[];
  /** Backing store. */
  backingStore?: VolumeBackingStore;
}
