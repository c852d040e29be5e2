/**
 * The domain stats projection (`virConnectGetAllDomainStats`, `virsh domstats`, reference §5):
 * a domain's definition, state and the driver's latest samples → libvirt's keys and values, per
 * group, in libvirt's order. It reads nothing itself: running block figures come from the
 * driver's sampled block figures (and container sizes the sampler re-read), inactive ones from block info
 * the caller read from storage.
 *
 * Groups and what an inactive domain gets (as libvirt):
 *
 * | group | keys | inactive |
 * | --- | --- | --- |
 * | state | `state.state`, `state.reason` | yes |
 * | cpu-total | `cpu.time`, `cpu.user`, `cpu.system` (ns) | no |
 * | balloon | `balloon.current`, `balloon.maximum` (KiB); running: the guest's statistics, `balloon.rss` | current = maximum |
 * | vcpu | `vcpu.current`, `vcpu.maximum`; running: `vcpu.<n>.state`, `.time`, `.wait` | counts only |
 * | interface | `net.count`, `net.<n>.name`, `net.<n>.{rx,tx}.{bytes,pkts,errs,drop}` | no |
 * | block | `block.count`, `block.<n>.name`, `.path`, counters, `allocation`, `capacity`, `physical` | from storage, non-zero only |
 * | perf | `perf.<event>` for each event the host counts (only drivers that count, see stats_reader.ts) | no |
 *
 * @module
 */

import type { InstanceSamples } from "../../actors/driver_protocol.ts";
import { type BlockInfo, blockStatsFields } from "../storage/block_info.ts";
import type { StorageInfo, StorageReader } from "../storage/storage_info.ts";
import type { DomainDefinition } from "../model/domain.ts";
import { ErrorCode, VirtError } from "../model/errors.ts";
import { diskSource } from "./block_list.ts";
import { memoryStats } from "./memory_stats.ts";

/** libvirt's stats groups and their bits (`virDomainStatsTypes`). */
export const STATS_GROUPS = {
  state: 1,
  "cpu-total": 2,
  balloon: 4,
  vcpu: 8,
  interface: 16,
  block: 32,
  perf: 64,
  iothread: 128,
  memory: 256,
  dirtyrate: 512,
  vm: 1024,
} as const;

/** A stats group's name, e.g. `cpu-total`. */
export type StatsGroupName = keyof typeof STATS_GROUPS;

/** The groups evirt reports, in libvirt's order. */
export const SUPPORTED_STATS_GROUPS: readonly StatsGroupName[] = [
  "state",
  "cpu-total",
  "balloon",
  "vcpu",
  "interface",
  "block",
  "perf",
];

/** One typed parameter of a stats record. */
export interface StatsField {
  /** libvirt's key, e.g. `block.0.allocation`. */
  key: string;
  /** A number, or a string (`block.0.name`, `net.0.name`, `block.0.path`). */
  value: number | string;
}

/** What one domain's stats are computed from. */
export interface DomainStatsInput {
  /** virDomainState value. */
  state: number;
  /** The state's reason value. */
  reason: number;
  /** Whether the domain has a running instance. */
  active: boolean;
  /** The definition in effect (live while active). */
  definition: DomainDefinition;
  /** The driver's latest samples of the running instance, if any. */
  samples?: InstanceSamples;
  /** Block info read from storage for an inactive domain, by disk position (absent: not read). */
  inactiveBlocks?: ReadonlyArray<BlockInfo | undefined>;
}

/**
 * The stats record of one domain: the asked groups' keys in libvirt's order.
 *
 * @param input The domain's state, definition and samples.
 * @param groups The groups to report (any order; unsupported ones are ignored).
 * @returns The keys and values.
 * @throws {VirtError} INTERNAL_ERROR when the driver could not read a disk's figures.
 *
 * @example An inactive domain's state and vCPU counts
 * ```ts
 * import { domainStats } from "./domain_stats.ts";
 * import { emptyDevices } from "../model/domain.ts";
 * const definition = { type: "test", name: "a", memoryKiB: 1024, vcpus: 2, os: { type: "hvm", boot: [] },
 *   devices: emptyDevices() };
 * const fields = await domainStats({ state: 5, reason: 0, active: false, definition }, ["state", "vcpu"]);
 * console.log(fields.map(({ key, value }) => `${key}=${value}`));
 * // ["state.state=5", "state.reason=0", "vcpu.current=2", "vcpu.maximum=2"]
 * ```
 */
export async function domainStats(
  input: DomainStatsInput,
  groups: readonly StatsGroupName[],
): Promise<StatsField[]> {
  const wanted = new Set(groups);
  const fields: StatsField[] = [];
  for (const group of SUPPORTED_STATS_GROUPS) {
    if (!wanted.has(group)) continue;
    fields.push(...await GROUP_FIELDS[group](input));
  }
  return fields;
}

type GroupFields = (input: DomainStatsInput) => StatsField[] | Promise<StatsField[]>;

const GROUP_FIELDS: Record<string, GroupFields> = {
  state: (input) => [
    { key: "state.state", value: input.state },
    { key: "state.reason", value: input.reason },
  ],
  "cpu-total": cpuFields,
  balloon: balloonFields,
  vcpu: vcpuFields,
  interface: interfaceFields,
  block: blockFields,
  perf: (input) =>
    input.active
      ? (input.samples?.perf ?? []).map(([name, count]) => ({ key: `perf.${name}`, value: count }))
      : [],
};

function cpuFields(input: DomainStatsInput): StatsField[] {
  const cpu = input.active ? input.samples?.cpu : undefined;
  if (cpu === undefined) return [];
  return [
    { key: "cpu.time", value: cpu.timeNs },
    { key: "cpu.user", value: cpu.userNs },
    { key: "cpu.system", value: cpu.systemNs },
  ];
}

function balloonFields(input: DomainStatsInput): StatsField[] {
  const { definition, samples } = input;
  const balloon = definition.devices.memballoon;
  const hasBalloon = balloon !== undefined && balloon.model !== "none";
  // As libvirt: the balloon's figure only for a running domain with a balloon, else the total.
  const currentKiB = input.active && hasBalloon
    ? samples?.balloonKiB ?? definition.currentMemoryKiB ?? definition.memoryKiB
    : definition.memoryKiB;
  const fields: StatsField[] = [
    { key: "balloon.current", value: currentKiB },
    { key: "balloon.maximum", value: definition.memoryKiB },
  ];
  if (!input.active || samples === undefined) return fields;
  for (const [tag, value] of memoryStats(definition, samples)) {
    if (tag === "actual") continue;
    fields.push({ key: `balloon.${tag === "last_update" ? "last-update" : tag}`, value });
  }
  return fields;
}

function vcpuFields(input: DomainStatsInput): StatsField[] {
  const { definition } = input;
  const maximum = Math.max(1, definition.vcpus);
  const fields: StatsField[] = [
    { key: "vcpu.current", value: definition.vcpu?.current ?? maximum },
    { key: "vcpu.maximum", value: maximum },
  ];
  const vcpus = input.active ? input.samples?.vcpus : undefined;
  for (const vcpu of vcpus ?? []) {
    const prefix = `vcpu.${vcpu.number}.`;
    fields.push(
      { key: `${prefix}state`, value: vcpu.state },
      { key: `${prefix}time`, value: vcpu.timeNs },
    );
    if (vcpu.waitNs !== undefined) fields.push({ key: `${prefix}wait`, value: vcpu.waitNs });
  }
  return fields;
}

function interfaceFields(input: DomainStatsInput): StatsField[] {
  if (!input.active) return [];
  const fields: StatsField[] = [
    { key: "net.count", value: input.definition.devices.interfaces.length },
  ];
  const samples = [...input.samples?.interfaces ?? []].sort((a, b) => a.index - b.index);
  for (const nic of samples) {
    const prefix = `net.${nic.index}.`;
    fields.push(
      { key: `${prefix}name`, value: nic.name },
      { key: `${prefix}rx.bytes`, value: nic.rxBytes },
      { key: `${prefix}rx.pkts`, value: nic.rxPackets },
      { key: `${prefix}rx.errs`, value: nic.rxErrors },
      { key: `${prefix}rx.drop`, value: nic.rxDrops },
      { key: `${prefix}tx.bytes`, value: nic.txBytes },
      { key: `${prefix}tx.pkts`, value: nic.txPackets },
      { key: `${prefix}tx.errs`, value: nic.txErrors },
      { key: `${prefix}tx.drop`, value: nic.txDrops },
    );
  }
  return fields;
}

async function blockFields(input: DomainStatsInput): Promise<StatsField[]> {
  const disks = input.definition.devices.disks;
  const fields: StatsField[] = [{ key: "block.count", value: disks.length }];
  const block = input.active ? input.samples?.block : undefined;
  for (const [index, disk] of disks.entries()) {
    fields.push({ key: `block.${index}.name`, value: disk.target.dev });
    const path = diskSource(disk);
    if (path !== undefined) fields.push({ key: `block.${index}.path`, value: path });
    if (input.active) {
      const running = block?.disks[index];
      if (block === undefined || running === undefined) continue;
      fields.push(
        ...await blockStatsFields(index, {
          state: "running",
          figures: running,
          readStorage: sampledStorage(block.containers),
        }),
      );
    } else {
      const info = input.inactiveBlocks?.[index];
      if (info !== undefined) {
        fields.push(...await blockStatsFields(index, { state: "inactive", info }));
      }
    }
  }
  return fields;
}

/** Answers container re-reads from what the sampler read, never from storage. */
function sampledStorage(containers: Record<string, StorageInfo>): StorageReader {
  return (path) => {
    const info = containers[path];
    if (info !== undefined) return Promise.resolve(info);
    return Promise.reject(
      new VirtError(ErrorCode.OPERATION_FAILED, `no sampled size of '${path}'`, { where: path }),
    );
  };
}
