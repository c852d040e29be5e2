/**
 * A domain's disks as `virsh domblklist` lists them, and how a disk named by a user (a target
 * such as `vda`, or a source path) is found, both from the definition alone.
 *
 * @module
 */

import type { Disk, DomainDefinition } from "../model/domain.ts";

/** One disk as `domblklist` shows it. */
export interface BlockListRow {
  /** `<disk type>`: file, block, network, … */
  type: string;
  /** `<disk device>`: disk, cdrom, floppy, lun. */
  device: string;
  /** `<target dev>`, e.g. `vda`. */
  target: string;
  /** The source (file, device, directory, network name or volume); null when there is none. */
  source: string | null;
  /** The image format of `<driver type>`, when declared. */
  format?: string;
}

/** The answer of `GET /v1/domains/{ref}/blocks`. */
export interface BlockListView {
  disks: BlockListRow[];
}

/**
 * The disks of a definition in their order, as `domblklist` lists them.
 *
 * @param definition The live or persistent definition.
 * @returns One row per disk.
 *
 * @example
 * ```ts
 * import { blockList } from "./block_list.ts";
 * import { emptyDevices } from "../model/domain.ts";
 * const devices = emptyDevices();
 * devices.disks.push({ type: "file", source: { file: "/images/a.raw", hosts: [] }, target: { dev: "vda" } });
 * const definition = { type: "test", name: "a", memoryKiB: 1, vcpus: 1, os: { type: "hvm", boot: [] }, devices };
 * console.log(blockList(definition));
 * // [{ type: "file", device: "disk", target: "vda", source: "/images/a.raw" }]
 * ```
 */
export function blockList(definition: DomainDefinition): BlockListRow[] {
  return definition.devices.disks.map((disk) => {
    const row: BlockListRow = {
      type: disk.type ?? "file",
      device: disk.device ?? "disk",
      target: disk.target.dev,
      source: diskSource(disk) ?? null,
    };
    if (disk.driver?.type !== undefined) row.format = disk.driver.type;
    return row;
  });
}

/**
 * A disk's source as libvirt names it: its file, device, directory, network name or volume.
 *
 * @param disk The disk.
 * @returns The source, or undefined for a disk without one (an empty CD-ROM).
 *
 * @example
 * ```ts
 * import { diskSource } from "./block_list.ts";
 * console.log(diskSource({ type: "block", source: { dev: "/dev/sdb", hosts: [] }, target: { dev: "sdb" } }));
 * // "/dev/sdb"
 * ```
 */
export function diskSource(disk: Disk): string | undefined {
  const source = disk.source;
  if (source === undefined) return undefined;
  const path = source.file ?? source.dev ?? source.dir ?? source.name ?? source.volume;
  return path === "" ? undefined : path;
}

/**
 * Finds a disk by name as libvirt does: a name without a leading `/` is a target (`vda`), one
 * with it is a source path, which must then be unambiguous.
 *
 * @param definition The definition to look in.
 * @param name The target or source path.
 * @returns The disk's position, or undefined when no disk (or more than one, by path) matches.
 *
 * @example
 * ```ts
 * import { findDisk } from "./block_list.ts";
 * import { emptyDevices } from "../model/domain.ts";
 * const devices = emptyDevices();
 * devices.disks.push({ source: { file: "/images/a.raw", hosts: [] }, target: { dev: "vda" } });
 * const definition = { type: "test", name: "a", memoryKiB: 1, vcpus: 1, os: { type: "hvm", boot: [] }, devices };
 * console.log(findDisk(definition, "vda"), findDisk(definition, "/images/a.raw"), findDisk(definition, "vdz"));
 * // 0 0 undefined
 * ```
 */
export function findDisk(definition: DomainDefinition, name: string): number | undefined {
  const disks = definition.devices.disks;
  if (!name.startsWith("/")) {
    const index = disks.findIndex((disk) => disk.target.dev === name);
    return index < 0 ? undefined : index;
  }
  const matches = disks.flatMap((disk, index) => diskSource(disk) === name ? [index] : []);
  return matches.length === 1 ? matches[0] : undefined;
}
