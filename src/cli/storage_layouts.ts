/**
 * What the storage verbs print, in virsh's layouts: `pool-info`, `pool-list`, `vol-info`,
 * `vol-list` (and the labels and flags `net-info`, `net-list` share), sizes as `vshPrettyCapacity` scales them, and the XML `vol-create-as` builds.
 *
 * @module
 */

import type { PoolInfoView, VolumeView } from "../api/storage_views.ts";
import { formatTable } from "./layouts.ts";

const LABEL_WIDTH = 15;
const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];

/** Lines of `Label:` and value, the label padded as virsh's info verbs pad it. */
export function labelled(lines: readonly [string, string][]): string {
  return lines.map(([label, value]) => `${label.padEnd(LABEL_WIDTH)} ${value}\n`).join("");
}

/**
 * A size as virsh prints it: scaled by 1024 while at least 1024, two decimals.
 *
 * @example
 * ```ts
 * import { prettyCapacity } from "./storage_layouts.ts";
 * console.log(prettyCapacity(10485760), prettyCapacity(200704), prettyCapacity(0));
 * // "10.00 MiB" "196.00 KiB" "0.00 B"
 * ```
 */
export function prettyCapacity(bytes: number, decimals = 2): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(decimals)} ${UNITS[unit]}`;
}

/** `yes` or `no`, as virsh prints flags. */
export function yesNo(value: boolean): string {
  return value ? "yes" : "no";
}

function isRunning(pool: PoolInfoView): boolean {
  return pool.stateName === "running" || pool.stateName === "degraded";
}

/** `virsh pool-info`: figures only while running (or degraded), bytes with `--bytes`. */
export function formatPoolInfo(pool: PoolInfoView, bytes: boolean): string {
  const lines: [string, string][] = [
    ["Name:", pool.name],
    ["UUID:", pool.uuid],
    ["State:", pool.stateName],
    ["Persistent:", yesNo(pool.persistent)],
    ["Autostart:", yesNo(pool.autostart)],
  ];
  if (isRunning(pool)) {
    const size = (value: number) => bytes ? String(value) : prettyCapacity(value);
    lines.push(
      ["Capacity:", size(pool.capacityBytes)],
      ["Allocation:", size(pool.allocationBytes)],
      ["Available:", size(pool.availableBytes)],
    );
  }
  return labelled(lines);
}

/** How `pool-list` prints. */
export interface PoolListLayout {
  details: boolean;
  name: boolean;
  uuid: boolean;
  quiet: boolean;
}

/** `virsh pool-list`: the table, its `--details` form, or `--name` / `--uuid` lines. */
export function formatPoolList(pools: readonly PoolInfoView[], layout: PoolListLayout): string {
  if (layout.name || layout.uuid) {
    return pools.map((pool) => {
      if (layout.uuid && layout.name) return `${pool.uuid} ${pool.name.padEnd(20)}\n`;
      return layout.uuid ? `${pool.uuid.padEnd(36)}\n` : `${pool.name.padEnd(20)}\n`;
    }).join("");
  }
  if (!layout.details) {
    return formatTable(
      ["Name", "State", "Autostart"],
      pools.map((pool) => [pool.name, pool.active ? "active" : "inactive", yesNo(pool.autostart)]),
      !layout.quiet,
    );
  }
  return formatTable(
    ["Name", "State", "Autostart", "Persistent", "Capacity", "Allocation", "Available"],
    pools.map((pool) => {
      const size = (value: number) => isRunning(pool) ? prettyCapacity(value) : "-";
      return [
        pool.name,
        pool.stateName,
        yesNo(pool.autostart),
        yesNo(pool.persistent),
        size(pool.capacityBytes),
        size(pool.allocationBytes),
        size(pool.availableBytes),
      ];
    }),
    !layout.quiet,
  );
}

/** `virsh vol-info`: allocation, or with `--physical` the file's length; `--bytes` unscaled. */
export function formatVolumeInfo(volume: VolumeView, bytes: boolean, physical: boolean): string {
  const size = (value: number) => bytes ? `${value} bytes` : prettyCapacity(value);
  return labelled([
    ["Name:", volume.name],
    ["Type:", volume.typeName],
    ["Capacity:", size(volume.capacityBytes)],
    physical
      ? ["Physical:", size(volume.physicalBytes)]
      : ["Allocation:", size(volume.allocationBytes)],
  ]);
}

/** `virsh vol-list`: names and paths, or with `--details` type and sizes too. */
export function formatVolumeList(
  volumes: readonly VolumeView[],
  details: boolean,
  quiet: boolean,
): string {
  if (!details) {
    return formatTable(["Name", "Path"], volumes.map((each) => [each.name, each.path]), !quiet);
  }
  return formatTable(
    ["Name", "Path", "Type", "Capacity", "Allocation"],
    volumes.map((each) => [
      each.name,
      each.path,
      each.typeName,
      prettyCapacity(each.capacityBytes),
      prettyCapacity(each.allocationBytes),
    ]),
    !quiet,
  );
}

/** Escapes text or an attribute value of a document a verb builds (`'` quoted). */
export function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/'/g, "&apos;").replace(/"/g, "&quot;");
}

/** What `vol-create-as` asks for. */
export interface VolumeRequest {
  name: string;
  capacityBytes: bigint;
  allocationBytes?: bigint;
  format?: string;
  backing?: { path: string; format?: string };
}

/**
 * The volume XML `virsh vol-create-as` builds (and prints with `--print-xml`).
 *
 * @example
 * ```ts
 * import { volumeRequestXml } from "./storage_layouts.ts";
 * console.log(volumeRequestXml({ name: "a", capacityBytes: 1024n }));
 * // "<volume>\n  <name>a</name>\n  <capacity>1024</capacity>\n</volume>\n"
 * ```
 */
export function volumeRequestXml(request: VolumeRequest): string {
  let xml = `<volume>\n  <name>${escapeXml(request.name)}</name>\n` +
    `  <capacity>${request.capacityBytes}</capacity>\n`;
  if (request.allocationBytes !== undefined) {
    xml += `  <allocation>${request.allocationBytes}</allocation>\n`;
  }
  if (request.format !== undefined) {
    xml += `  <target>\n    <format type='${escapeXml(request.format)}'/>\n  </target>\n`;
  }
  if (request.backing !== undefined) {
    xml += `  <backingStore>\n    <path>${escapeXml(request.backing.path)}</path>\n`;
    if (request.backing.format !== undefined) {
      xml += `    <format type='${escapeXml(request.backing.format)}'/>\n`;
    }
    xml += `  </backingStore>\n`;
  }
  return `${xml}</volume>\n`;
}
