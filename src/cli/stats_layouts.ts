/**
 * virsh 9.0's layouts of the block and statistics commands (`domblklist`, `domblkinfo`,
 * `domblkstat`, `domifstat`, `dommemstat`, `vcpuinfo`, `domstats`), as pure functions of the
 * API's views. Like `layouts.ts`, each returns the output without the empty line virsh adds
 * after every command.
 *
 * @module
 */

import type { BlockListRow } from "../projections/block_list.ts";
import type { BlockStatsView } from "../projections/block_stats.ts";
import type { InterfaceStatsView } from "../projections/interface_stats.ts";
import type { BlockInfo } from "../storage/block_info.ts";
import type { DomainStatsRecord } from "../projections/stats_reader.ts";
import type { VcpuInfo } from "../projections/vcpu_info.ts";
import { formatCpuSet } from "../model/cpu_set.ts";
import { formatCpuTime, formatTable } from "./layouts.ts";

/** Width of the label column of `domblkinfo` and `vcpuinfo` (virsh's `%-15s `). */
const LABEL_WIDTH = 15;
/** Width of `domblkstat --human`'s field column (virsh's `%-*s` with 31). */
const HUMAN_FIELD_WIDTH = 31;

/** The units of virsh's `vshPrettyCapacity`, each 1024 times the previous. */
const CAPACITY_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];

/** `domblkstat`'s legacy names of libvirt's fields (virsh prints these when they exist). */
const BLOCK_STAT_LEGACY_NAMES: Readonly<Record<string, string>> = {
  rd_operations: "rd_req",
  rd_bytes: "rd_bytes",
  wr_operations: "wr_req",
  wr_bytes: "wr_bytes",
  errs: "errs",
};

/** `domblkstat --human`'s explanations of libvirt's fields. */
const BLOCK_STAT_HUMAN_NAMES: Readonly<Record<string, string>> = {
  rd_operations: "number of read operations:",
  rd_bytes: "number of bytes read:",
  wr_operations: "number of write operations:",
  wr_bytes: "number of bytes written:",
  errs: "error count:",
  flush_operations: "number of flush operations:",
  rd_total_times: "total duration of reads (ns):",
  wr_total_times: "total duration of writes (ns):",
  flush_total_times: "total duration of flushes (ns):",
};

/**
 * `virsh domblklist`: a `Target`/`Source` table, with `--details` `Type`/`Device` first; a disk
 * without a source shows `-`.
 *
 * @param disks The disks.
 * @param details Add the type and device columns.
 * @param quiet `-q`: no header.
 *
 * @example
 * ```ts
 * import { formatBlockList } from "./stats_layouts.ts";
 * console.log(formatBlockList([{ type: "file", device: "disk", target: "vda", source: "/a.img" }], false));
 * // " Target   Source\n------------------\n vda      /a.img\n"
 * ```
 */
export function formatBlockList(
  disks: readonly BlockListRow[],
  details: boolean,
  quiet = false,
): string {
  const header = details ? ["Type", "Device", "Target", "Source"] : ["Target", "Source"];
  const rows = disks.map((disk) => {
    const source = disk.source ?? "-";
    return details ? [disk.type, disk.device, disk.target, source] : [disk.target, source];
  });
  return formatTable(header, rows, !quiet);
}

/**
 * A size as virsh's `vshPrettyCapacity` with `%.3lf %s`: the largest binary unit the value
 * reaches, three decimals.
 *
 * @example
 * ```ts
 * import { formatCapacity } from "./stats_layouts.ts";
 * console.log(formatCapacity(1073741824), formatCapacity(106954752), formatCapacity(512));
 * // "1.000 GiB" "102.000 MiB" "512.000 B"
 * ```
 */
export function formatCapacity(bytes: number): string {
  let unit = 0;
  let value = bytes;
  while (value >= 1024 && unit < CAPACITY_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${printfFixed(value, 3)} ${CAPACITY_UNITS[unit]}`;
}

/** `printf("%.Nf")`: like `toFixed`, but an exact tie rounds to even as C's printf does. */
function printfFixed(value: number, digits: number): string {
  const scaled = value * 10 ** digits;
  const floor = Math.floor(scaled);
  if (scaled - floor === 0.5 && Number.isFinite(scaled)) {
    const even = floor % 2 === 0 ? floor : floor + 1;
    return (even / 10 ** digits).toFixed(digits);
  }
  return value.toFixed(digits);
}

/** The three cells of a block info: `-` each when all three are 0 (a disk without a source). */
function blockInfoCells(info: BlockInfo | undefined, human: boolean): [string, string, string] {
  const figures = [info?.capacityBytes ?? 0, info?.allocationBytes ?? 0, info?.physicalBytes ?? 0];
  if (figures.every((value) => value === 0)) return ["-", "-", "-"];
  const cell = (bytes: number) => human ? formatCapacity(bytes) : String(bytes);
  return [cell(figures[0]), cell(figures[1]), cell(figures[2])];
}

/**
 * `virsh domblkinfo DOMAIN DISK`: three labelled lines, bytes or (`--human`) scaled.
 *
 * @example
 * ```ts
 * import { formatBlockInfo } from "./stats_layouts.ts";
 * const info = { capacityBytes: 1073741824, allocationBytes: 106954752, physicalBytes: 5251072 };
 * console.log(formatBlockInfo(info, false));
 * // "Capacity:       1073741824\nAllocation:     106954752\nPhysical:       5251072\n"
 * ```
 */
export function formatBlockInfo(info: BlockInfo, human: boolean): string {
  const [capacity, allocation, physical] = blockInfoCells(info, human);
  return labelled([["Capacity:", capacity], ["Allocation:", allocation], ["Physical:", physical]]);
}

/**
 * `virsh domblkinfo DOMAIN --all`: a `Target`/`Capacity`/`Allocation`/`Physical` table; a disk
 * without a source (no info) shows `-`.
 *
 * @param rows Each disk's target and info (undefined for a disk without a source).
 * @param human Scale the sizes.
 * @param quiet `-q`: no header.
 *
 * @example
 * ```ts
 * import { formatBlockInfoTable } from "./stats_layouts.ts";
 * console.log(formatBlockInfoTable([{ target: "hdc", info: undefined }], false).split("\n")[2]);
 * // " hdc      -          -            -"
 * ```
 */
export function formatBlockInfoTable(
  rows: readonly { target: string; info: BlockInfo | undefined }[],
  human: boolean,
  quiet = false,
): string {
  return formatTable(
    ["Target", "Capacity", "Allocation", "Physical"],
    rows.map(({ target, info }) => [target, ...blockInfoCells(info, human)]),
    !quiet,
  );
}

/**
 * `virsh domblkstat`: one `DEVICE FIELD VALUE` line per counter, with virsh's legacy field names
 * (`rd_req`, `wr_req`, …) where they exist; with `--human` a `Device:` line, then the fields'
 * explanations padded to 31 columns.
 *
 * @example
 * ```ts
 * import { formatBlockStats } from "./stats_layouts.ts";
 * const view = { device: "vda", stats: [["rd_operations", 3], ["flush_operations", 1]] as [string, number][],
 *   sampleAgeMs: 10, stale: false };
 * console.log(formatBlockStats(view, false)); // "vda rd_req 3\nvda flush_operations 1\n"
 * ```
 */
export function formatBlockStats(view: BlockStatsView, human: boolean): string {
  let text = human ? `Device: ${view.device}\n` : "";
  const device = human ? "" : view.device;
  for (const [field, value] of view.stats) {
    const name = human
      ? (BLOCK_STAT_HUMAN_NAMES[field] ?? field).padEnd(HUMAN_FIELD_WIDTH)
      : BLOCK_STAT_LEGACY_NAMES[field] ?? field;
    text += `${device} ${name} ${value}\n`;
  }
  return text;
}

/**
 * `virsh domifstat`: `IFACE FIELD VALUE` lines, the interface named as the user named it.
 *
 * @example
 * ```ts
 * import { formatInterfaceStats } from "./stats_layouts.ts";
 * const view = { interface: "vnet0", name: "vnet0", rxBytes: 1, rxPackets: 2, rxErrors: 0, rxDrops: 0,
 *   txBytes: 3, txPackets: 4, txErrors: 0, txDrops: 0, sampleAgeMs: 5, stale: false };
 * console.log(formatInterfaceStats(view).split("\n")[0]); // "vnet0 rx_bytes 1"
 * ```
 */
export function formatInterfaceStats(view: InterfaceStatsView): string {
  const lines: [string, number][] = [
    ["rx_bytes", view.rxBytes],
    ["rx_packets", view.rxPackets],
    ["rx_errs", view.rxErrors],
    ["rx_drop", view.rxDrops],
    ["tx_bytes", view.txBytes],
    ["tx_packets", view.txPackets],
    ["tx_errs", view.txErrors],
    ["tx_drop", view.txDrops],
  ];
  return lines.map(([field, value]) => `${view.interface} ${field} ${value}\n`).join("");
}

/**
 * `virsh dommemstat`: `TAG VALUE` lines.
 *
 * @example
 * ```ts
 * import { formatMemoryStats } from "./stats_layouts.ts";
 * console.log(formatMemoryStats([["actual", 1048576], ["rss", 65536]])); // "actual 1048576\nrss 65536\n"
 * ```
 */
export function formatMemoryStats(stats: readonly [string, number][]): string {
  return stats.map(([tag, value]) => `${tag} ${value}\n`).join("");
}

/**
 * `virsh vcpuinfo`: a block per vCPU (`VCPU:`, `CPU:`, `State:`, `CPU time:` when non-zero,
 * `CPU Affinity:` as `y`/`-` per host CPU, or with `--pretty` as ranges), blocks separated by an
 * empty line. An inactive domain's vCPUs show `N/A` (and virsh's `CPU time` label without colon).
 *
 * @example
 * ```ts
 * import { formatVcpuInfo } from "./stats_layouts.ts";
 * const vcpu = { number: 0, state: 1, stateName: "running", cpuTimeNs: 1500000000, cpu: 1,
 *   affinity: [true, true] };
 * console.log(formatVcpuInfo([vcpu], false));
 * // "VCPU:           0\nCPU:            1\nState:          running\nCPU time:       1.5s\nCPU Affinity:   yy\n"
 * ```
 */
export function formatVcpuInfo(vcpus: readonly VcpuInfo[], pretty: boolean): string {
  return vcpus.map((vcpu) => {
    const lines: [string, string][] = [["VCPU:", String(vcpu.number)]];
    if (vcpu.state === null) {
      lines.push(["CPU:", "N/A"], ["State:", "N/A"], ["CPU time", "N/A"]);
    } else {
      lines.push(["CPU:", String(vcpu.cpu ?? 0)], ["State:", vcpu.stateName ?? "no state"]);
      if (vcpu.cpuTimeNs !== null && vcpu.cpuTimeNs !== 0) {
        lines.push(["CPU time:", formatCpuTime(vcpu.cpuTimeNs)]);
      }
    }
    lines.push(["CPU Affinity:", affinityText(vcpu.affinity, pretty)]);
    return labelled(lines);
  }).join("\n");
}

function affinityText(affinity: readonly boolean[], pretty: boolean): string {
  if (!pretty) return affinity.map((usable) => usable ? "y" : "-").join("");
  const cpus = affinity.flatMap((usable, cpu) => usable ? [cpu] : []);
  return `${formatCpuSet(cpus)} (out of ${affinity.length})`;
}

/**
 * `virsh domstats`: per record a `Domain: 'NAME'` line and `  KEY=VALUE` lines, records separated
 * by an empty line.
 *
 * @example
 * ```ts
 * import { formatDomainStats } from "./stats_layouts.ts";
 * const record = { uuid: "u", name: "test", sampleAgeMs: 0, stale: false,
 *   stats: [{ key: "state.state", value: 1 }, { key: "state.reason", value: 0 }] };
 * console.log(formatDomainStats([record])); // "Domain: 'test'\n  state.state=1\n  state.reason=0\n"
 * ```
 */
export function formatDomainStats(records: readonly DomainStatsRecord[]): string {
  return records.map((record) =>
    `Domain: '${record.name}'\n` +
    record.stats.map(({ key, value }) => `  ${key}=${value}\n`).join("")
  ).join("\n");
}

function labelled(lines: readonly [string, string][]): string {
  return lines.map(([label, value]) => `${label.padEnd(LABEL_WIDTH)} ${value}\n`).join("");
}
