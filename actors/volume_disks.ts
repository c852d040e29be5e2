/**
 * Domain disks `<disk type='volume'><source pool='…' volume='…'/>` at start: the launch gets
 * each one as the volume's file (or block device), as libvirt's translation does; the live
 * definition keeps the disk as written (libvirt's live XML shows the pool and volume).
 *
 * @module
 */

import type { DomainDefinition } from "../src/model/domain.ts";
import { ErrorCode, VirtError } from "../src/model/errors.ts";

/** Where a volume is: its type (`file`, `block`, …) and path. */
export interface ResolvedVolume {
  type: string;
  path: string;
}

/** Finds a pool's volume (throws libvirt's errors: code 49, 50, 67). */
export type VolumeResolver = (pool: string, volume: string) => ResolvedVolume;

/**
 * The definition to launch: every volume disk as its file or block device. The definition
 * itself when it has none (no copy).
 *
 * @throws {VirtError} Code 67 when a volume disk names no pool or volume, or no resolver is
 *   given (the service has no storage); the resolver's errors.
 *
 * @example
 * ```ts ignore
 * const launched = withVolumeDisks(definition, (pool, volume) => ({ type: "file", path: "/x" }));
 * ```
 */
export function withVolumeDisks(
  definition: DomainDefinition,
  resolve: VolumeResolver | undefined,
): DomainDefinition {
  const disks = definition.devices.disks;
  if (!disks.some((disk) => disk.type === "volume")) return definition;
  return {
    ...definition,
    devices: {
      ...definition.devices,
      disks: disks.map((disk) => {
        if (disk.type !== "volume") return disk;
        const pool = disk.source?.pool;
        const volume = disk.source?.volume;
        if (pool === undefined || volume === undefined || resolve === undefined) {
          throw new VirtError(
            ErrorCode.CONFIG_UNSUPPORTED,
            `disk '${disk.target.dev}' of type 'volume' needs a storage pool and volume evirt has`,
          );
        }
        const found = resolve(pool, volume);
        const block = found.type === "block";
        const { pool: _pool, volume: _volume, mode: _mode, ...source } = disk.source!;
        return {
          ...disk,
          type: block ? "block" : "file",
          source: { ...source, ...(block ? { dev: found.path } : { file: found.path }) },
        };
      }),
    },
  };
}

/** Whether a definition uses a pool's volume: as a volume disk, or its path as a file disk. */
export function usesVolume(
  definition: DomainDefinition,
  pool: string,
  volume: string,
  path: string,
): boolean {
  return definition.devices.disks.some((disk) =>
    disk.type === "volume"
      ? disk.source?.pool === pool && disk.source?.volume === volume
      : (disk.source?.file ?? disk.source?.dev) === path
  );
}
