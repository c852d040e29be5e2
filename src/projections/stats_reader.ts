/**
 * Answers the block info and statistics reads of domains: finds each domain through the host
 * (without queueing behind its commands), takes its driver's latest samples or reads its storage,
 * and hands them to the pure projections (`domain_stats.ts`, `block_stats.ts`, …).
 *
 * - Statistics never wait on a monitor: they come from the driver's samples, each answer says how
 *   old they are, and a domain whose monitor stopped answering is reported from its last samples,
 *   marked stale. Only a domain whose first sample is not taken yet (just started) is waited for,
 *   at most {@linkcode FIRST_SAMPLE_WAIT_MS}, and not at all with `nowait`.
 * - Block info asks the driver live for a running domain (as libvirt does), bounded by the
 *   driver's query timeouts, and reads storage (under a deadline) for an inactive one.
 *
 * @module
 */

import type { DomainInspection, Host, ListFilter } from "../../actors/host.ts";
import type { BlockSample, Driver, InstanceSamples } from "../../actors/driver_protocol.ts";
import {
  type BlockInfo,
  blockInfoInactive,
  blockInfoRunning,
  type BlockStorageAccess,
} from "../storage/block_info.ts";
import type { DiskError } from "../storage/block_figures.ts";
import { readQcow2Header } from "../storage/qcow2_header.ts";
import { readStorageInfo } from "../storage/storage_info.ts";
import { ErrorCode, VirtError } from "../model/errors.ts";
import { blockList, type BlockListView, diskSource, findDisk } from "./block_list.ts";
import { blockStats, type BlockStatsView } from "./block_stats.ts";
import {
  domainStats,
  STATS_GROUPS,
  type StatsField,
  type StatsGroupName,
  SUPPORTED_STATS_GROUPS,
} from "./domain_stats.ts";
import { findInterface, type InterfaceStatsView } from "./interface_stats.ts";
import { memoryStats, type MemoryStatsView } from "./memory_stats.ts";
import { vcpuInfo, type VcpusView } from "./vcpu_info.ts";

/** Longest wait for the first sample of a domain that just started, in ms. */
export const FIRST_SAMPLE_WAIT_MS = 2000;

/** Pause between two looks for a first sample, in ms. */
const FIRST_SAMPLE_POLL_MS = 10;

/** Domains whose records are computed at once (each may read storage or wait a first sample). */
export const STATS_RECORDS_CONCURRENT_MAX = 64;

/** Disk types whose block info is read from a file or device. */
const LOCAL_DISK_TYPES: ReadonlySet<string> = new Set(["file", "block"]);

/** The host's file system, for drivers without simulated storage. */
const HOST_STORAGE: BlockStorageAccess = {
  readStorage: (path) => readStorageInfo(path),
  readQcow2Header: (path) => readQcow2Header(path),
};

/** The answer of `GET /v1/domains/{ref}/blocks/errors`: `virDomainGetDiskErrors`. */
export interface DiskErrorsView {
  /** How many disks the running domain has (libvirt's answer when no room for errors is given). */
  disks: number;
  /** The disks whose I/O failed, in the definition's order. */
  errors: DiskError[];
}

/** What `virConnectGetAllDomainStats` / `virDomainListGetStats` are asked. */
export interface StatsRequest {
  /** Group names (`state`, `cpu-total`, …); none: every group evirt reports. */
  groups?: readonly string[];
  /** These domains (names, uuids or ids), in this order; not with `filter`. */
  domains?: readonly string[];
  /** libvirt's list filters over all domains; not with `domains`. */
  filter?: ListFilter;
  /** Answer from what is at hand: never wait for a first sample. */
  nowait?: boolean;
  /** Refuse a group evirt does not report (code 74) instead of leaving it out. */
  enforce?: boolean;
  /** Report backing chains (not supported: refused with code 74). */
  backing?: boolean;
}

/** One domain's stats record. */
export interface DomainStatsRecord {
  uuid: string;
  name: string;
  /** How old the samples behind the record are, in ms; null when it has none (inactive). */
  sampleAgeMs: number | null;
  /** Whether the samples are stale: the last sampling failed (a monitor not answering). */
  stale: boolean;
  /** Why the samples are stale. */
  staleReason?: string;
  /** libvirt's keys and values, in libvirt's order. */
  stats: StatsField[];
}

/** The answer of `GET /v1/domains/{ref}/blocks/{disk}/info`: `virDomainGetBlockInfo`. */
export interface BlockInfoView extends BlockInfo {
  /** The disk's target, e.g. `vda`. */
  target: string;
}

/** How fresh a domain's samples are, as every statistics answer reports it. */
interface Freshness {
  sampleAgeMs: number | null;
  stale: boolean;
  staleReason?: string;
}

/**
 * The groups a request reports, checked as libvirt checks them.
 *
 * @param names Group names; none means every supported group.
 * @param enforce Refuse groups evirt does not report instead of leaving them out.
 * @returns The supported groups asked for, in libvirt's order.
 * @throws {VirtError} INVALID_ARG for a name libvirt does not know; ARGUMENT_UNSUPPORTED (74)
 *   with `enforce` for a group evirt does not report.
 *
 * @example
 * ```ts
 * import { statsGroups } from "./stats_reader.ts";
 * console.log(statsGroups(["block", "state", "perf"], false)); // ["state", "block"]
 * ```
 */
export function statsGroups(
  names: readonly string[] | undefined,
  enforce: boolean,
  supported: readonly StatsGroupName[] = SUPPORTED_STATS_GROUPS,
): StatsGroupName[] {
  if (names === undefined || names.length === 0) return [...supported];
  let unsupportedBits = 0;
  for (const name of names) {
    if (!Object.hasOwn(STATS_GROUPS, name)) {
      throw new VirtError(ErrorCode.INVALID_ARG, `unknown stats group '${name}'`, {
        where: "groups",
      });
    }
    const group = name as StatsGroupName;
    if (!supported.includes(group)) unsupportedBits |= STATS_GROUPS[group];
  }
  if (enforce && unsupportedBits !== 0) {
    throw new VirtError(
      ErrorCode.ARGUMENT_UNSUPPORTED,
      `Stats types bits 0x${unsupportedBits.toString(16)} are not supported by this daemon`,
      { where: "groups" },
    );
  }
  return supported.filter((group) => names.includes(group));
}

/**
 * The groups a host reports: `perf` only where one of its drivers counts perf events (libvirt's
 * test driver reports no `perf` group).
 */
export function hostStatsGroups(drivers: readonly Driver[]): StatsGroupName[] {
  const counts = drivers.some((driver) => driver.setPerfEvent !== undefined);
  return SUPPORTED_STATS_GROUPS.filter((group) => group !== "perf" || counts);
}

/**
 * Reads block info and statistics of the host's domains.
 *
 * @example
 * ```ts ignore
 * const reader = new StatsReader(host);
 * const records = await reader.domainStats({ groups: ["block"], filter: { running: true } });
 * const info = await reader.blockInfo("web", "vda", AbortSignal.timeout(10_000));
 * ```
 */
export class StatsReader {
  readonly #host: Host;
  readonly #now: () => number;
  readonly #firstSampleWaitMs: number;

  /**
   * @param host The host whose domains are read.
   * @param options `now`: the clock (default `Date.now`); `firstSampleWaitMs`: longest wait for
   *   a first sample (default {@linkcode FIRST_SAMPLE_WAIT_MS}).
   */
  constructor(host: Host, options: { now?: () => number; firstSampleWaitMs?: number } = {}) {
    this.#host = host;
    this.#now = options.now ?? Date.now;
    this.#firstSampleWaitMs = options.firstSampleWaitMs ?? FIRST_SAMPLE_WAIT_MS;
  }

  /**
   * Stats records of the asked domains (or of every domain matching the filter, in list order).
   *
   * @throws {VirtError} INVALID_ARG for domains together with filters or an unknown group;
   *   ARGUMENT_UNSUPPORTED for `backing`, or an unsupported group with `enforce`; NO_DOMAIN for a
   *   named domain that does not exist.
   */
  async domainStats(request: StatsRequest): Promise<DomainStatsRecord[]> {
    const filtered = Object.values(request.filter ?? {}).some((value) => value === true);
    if (request.domains !== undefined && request.domains.length > 0 && filtered) {
      throw new VirtError(
        ErrorCode.INVALID_ARG,
        "a list of domains and list filters are mutually exclusive",
        { where: "domain" },
      );
    }
    if (request.backing) {
      throw new VirtError(
        ErrorCode.ARGUMENT_UNSUPPORTED,
        "backing chain statistics are not reported",
        { where: "backing" },
      );
    }
    const groups = statsGroups(
      request.groups,
      request.enforce ?? false,
      hostStatsGroups(this.#host.drivers),
    );
    const inspections = request.domains !== undefined && request.domains.length > 0
      ? request.domains.map((reference) => this.#host.inspect(reference))
      : this.#host.list(request.filter ?? {}).map((summary) => this.#host.inspect(summary.uuid));
    const records: DomainStatsRecord[] = [];
    for (let start = 0; start < inspections.length; start += STATS_RECORDS_CONCURRENT_MAX) {
      const batch = inspections.slice(start, start + STATS_RECORDS_CONCURRENT_MAX);
      records.push(
        ...await Promise.all(
          batch.map((inspection) => this.#record(inspection, groups, request.nowait ?? false)),
        ),
      );
    }
    return records;
  }

  /** The disks of a domain, from its live definition (or its persistent one with `inactive`). */
  blockList(reference: string, options: { inactive?: boolean } = {}): BlockListView {
    const inspection = this.#host.inspect(reference);
    const definition = options.inactive
      ? inspection.persistentDefinition ?? inspection.definition
      : inspection.definition;
    return { disks: blockList(definition) };
  }

  /**
   * `virDomainGetBlockInfo` of one disk, named by target or source path: from the driver, asked
   * now, for a running domain; from storage for an inactive one.
   *
   * @throws {VirtError} INVALID_ARG for a disk the domain does not have ("invalid path X not
   *   assigned to domain") or one without a source; OPERATION_UNSUPPORTED for a disk that is not
   *   a file or a block device; OPERATION_TIMEOUT when the monitor does not answer in time; the
   *   storage and driver figure errors of `block_info.ts`.
   */
  async blockInfo(reference: string, name: string, signal: AbortSignal): Promise<BlockInfoView> {
    const inspection = this.#host.inspect(reference);
    const definition = inspection.definition;
    const index = findDisk(definition, name);
    if (index === undefined) {
      throw new VirtError(ErrorCode.INVALID_ARG, `invalid path ${name} not assigned to domain`, {
        where: name,
      });
    }
    const disk = definition.devices.disks[index];
    const source = diskSource(disk);
    if (source === undefined) {
      throw new VirtError(
        ErrorCode.INVALID_ARG,
        `disk '${name}' does not currently have a source assigned`,
        { where: name },
      );
    }
    const access = inspection.driver?.storageAccess?.() ?? HOST_STORAGE;
    const target = disk.target.dev;
    if (inspection.handle !== undefined) {
      if (inspection.driver === undefined) {
        throw new VirtError(
          ErrorCode.OPERATION_FAILED,
          `no '${definition.type}' driver runs domain '${inspection.summary.name}' here`,
        );
      }
      const sample = await inspection.driver.blockQuery(inspection.handle, signal);
      const running = sample.disks[index];
      if (running === undefined) {
        throw new VirtError(ErrorCode.INTERNAL_ERROR, `the driver does not name disk '${target}'`);
      }
      return { target, ...await blockInfoRunning(running, access.readStorage) };
    }
    const type = disk.type ?? "file";
    if (!LOCAL_DISK_TYPES.has(type)) {
      throw new VirtError(
        ErrorCode.OPERATION_UNSUPPORTED,
        `block info of a '${type}' disk is not supported`,
        { where: name },
      );
    }
    const format = disk.driver?.type ?? "raw";
    return { target, ...await blockInfoInactive({ path: source, format }, access) };
  }

  /**
   * `virDomainGetDiskErrors`: the disks of a running domain whose I/O failed, asked of its driver
   * now (bounded by the driver's query timeouts and `signal`).
   *
   * @throws {VirtError} OPERATION_INVALID when the domain is not running; OPERATION_TIMEOUT when
   *   the monitor does not answer in time.
   */
  async diskErrors(reference: string, signal: AbortSignal): Promise<DiskErrorsView> {
    const inspection = this.#host.inspect(reference);
    const { driver, handle } = inspection;
    if (handle === undefined || driver === undefined) {
      throw new VirtError(ErrorCode.OPERATION_INVALID, "domain is not running");
    }
    const errors = await driver.diskErrors(handle, signal);
    return { disks: inspection.definition.devices.disks.length, errors };
  }

  /**
   * `virDomainBlockStatsFlags`: one disk's I/O counters, or (no disk) the sum over all disks.
   *
   * @throws {VirtError} OPERATION_INVALID when the domain is not running; INVALID_ARG for an
   *   unknown disk ("invalid path: X"); OPERATION_FAILED when there are no samples yet.
   */
  async blockStats(reference: string, name?: string): Promise<BlockStatsView> {
    const summary = name === undefined || name === "";
    if (summary && this.#host.inspect(reference).driver?.sumsBlockStats === false) {
      throw new VirtError(
        ErrorCode.OPERATION_UNSUPPORTED,
        "summary statistics are not supported yet",
      );
    }
    const { inspection, samples } = await this.#running(reference);
    let index: number | undefined;
    if (!summary) {
      index = findDisk(inspection.definition, name);
      if (index === undefined) {
        throw new VirtError(ErrorCode.INVALID_ARG, `invalid path: ${name}`, { where: name });
      }
    }
    const block: BlockSample = samples.block ?? noSample(inspection, "block statistics");
    return { device: name ?? "", stats: blockStats(block, index), ...this.#freshness(samples) };
  }

  /**
   * `virDomainInterfaceStats`: one interface's counters in the guest's view.
   *
   * @throws {VirtError} OPERATION_INVALID when the domain is not running; INVALID_ARG for an
   *   unknown interface; OPERATION_UNSUPPORTED for one without host-side counters.
   */
  async interfaceStats(reference: string, name: string): Promise<InterfaceStatsView> {
    const { inspection, samples } = await this.#running(reference);
    const sampled = samples.interfaces ?? [];
    const index = findInterface(inspection.definition, sampled, name);
    if (index === undefined) {
      throw new VirtError(ErrorCode.INVALID_ARG, `'${name}' is not a known interface`, {
        where: name,
      });
    }
    const nic = sampled.find((each) => each.index === index);
    if (nic === undefined) {
      const type = inspection.definition.devices.interfaces[index].type;
      throw new VirtError(
        ErrorCode.OPERATION_UNSUPPORTED,
        `interface '${name}' of type '${type}' has no host-side counters`,
        { where: name },
      );
    }
    const { index: _index, ...counters } = nic;
    return { interface: name, ...counters, ...this.#freshness(samples) };
  }

  /**
   * `virDomainMemoryStats`.
   *
   * @throws {VirtError} OPERATION_INVALID when the domain is not running.
   */
  async memoryStats(reference: string): Promise<MemoryStatsView> {
    const { inspection, samples } = await this.#running(reference);
    return {
      stats: memoryStats(inspection.definition, samples),
      ...this.#freshness(samples),
    };
  }

  /**
   * `virDomainGetVcpus` (running) or the configured vCPUs (inactive).
   *
   * @param hostCpus How many host CPUs an affinity map covers.
   */
  async vcpus(reference: string, hostCpus: number): Promise<VcpusView> {
    const inspection = this.#host.inspect(reference);
    if (inspection.handle === undefined) {
      return {
        vcpus: vcpuInfo(inspection.definition, undefined, hostCpus),
        sampleAgeMs: null,
        stale: false,
      };
    }
    const { samples } = await this.#running(reference);
    return {
      vcpus: vcpuInfo(inspection.definition, samples, hostCpus),
      ...this.#freshness(samples),
    };
  }

  async #record(
    inspection: DomainInspection,
    groups: readonly StatsGroupName[],
    nowait: boolean,
  ): Promise<DomainStatsRecord> {
    const { summary, definition, driver, handle } = inspection;
    const active = handle !== undefined;
    const samples = active && driver !== undefined
      ? await this.#samplesOf(inspection, nowait)
      : undefined;
    const inactiveBlocks = !active && groups.includes("block")
      ? await this.#inactiveBlocks(inspection)
      : undefined;
    const stats = await domainStats({
      state: summary.state,
      reason: summary.reason,
      active,
      definition,
      ...(samples === undefined ? {} : { samples }),
      ...(inactiveBlocks === undefined ? {} : { inactiveBlocks }),
    }, groups);
    const freshness: Freshness = !active
      ? { sampleAgeMs: null, stale: false }
      : samples === undefined
      ? { sampleAgeMs: null, stale: true, staleReason: "the driver has no samples" }
      : this.#freshness(samples);
    return { uuid: summary.uuid, name: summary.name, ...freshness, stats };
  }

  /** Block info of every local disk with a source, from storage; unreadable ones are left out. */
  async #inactiveBlocks(inspection: DomainInspection): Promise<Array<BlockInfo | undefined>> {
    const access = inspection.driver?.storageAccess?.() ?? HOST_STORAGE;
    const result: Array<BlockInfo | undefined> = [];
    for (const disk of inspection.definition.devices.disks) {
      const path = diskSource(disk);
      if (path === undefined || !LOCAL_DISK_TYPES.has(disk.type ?? "file")) {
        result.push(undefined);
        continue;
      }
      try {
        result.push(await blockInfoInactive({ path, format: disk.driver?.type ?? "raw" }, access));
      } catch (error) {
        // As libvirt: a disk whose storage cannot be read simply has no figures.
        if (!(error instanceof VirtError)) throw error;
        result.push(undefined);
      }
    }
    return result;
  }

  /** The running domain and its samples, waiting (bounded) only for a first sample. */
  async #running(
    reference: string,
  ): Promise<{ inspection: DomainInspection; samples: InstanceSamples }> {
    const inspection = this.#host.inspect(reference);
    if (inspection.handle === undefined) {
      throw new VirtError(ErrorCode.OPERATION_INVALID, "domain is not running");
    }
    const samples = inspection.driver === undefined
      ? undefined
      : await this.#samplesOf(inspection, false);
    if (samples === undefined || samples.takenAtMs === undefined) {
      return noSample(inspection, "statistics");
    }
    return { inspection, samples };
  }

  async #samplesOf(
    inspection: DomainInspection,
    nowait: boolean,
  ): Promise<InstanceSamples | undefined> {
    const { driver, handle } = inspection;
    if (driver === undefined || handle === undefined) return undefined;
    let samples = driver.samples(handle);
    const deadline = this.#now() + this.#firstSampleWaitMs;
    // Bounded by the deadline: only a domain whose first sample is still to come is waited for.
    while (
      !nowait && samples !== undefined && samples.takenAtMs === undefined && !samples.stale &&
      this.#now() < deadline
    ) {
      await new Promise((resolve) => setTimeout(resolve, FIRST_SAMPLE_POLL_MS));
      samples = driver.samples(handle);
    }
    return samples;
  }

  #freshness(samples: InstanceSamples): Freshness {
    const freshness: Freshness = {
      sampleAgeMs: samples.takenAtMs === undefined
        ? null
        : Math.max(0, this.#now() - samples.takenAtMs),
      stale: samples.stale,
    };
    if (samples.staleReason !== undefined) freshness.staleReason = samples.staleReason;
    return freshness;
  }
}

function noSample(inspection: DomainInspection, what: string): never {
  throw new VirtError(
    ErrorCode.OPERATION_FAILED,
    `no ${what} of domain '${inspection.summary.name}' sampled yet`,
  );
}
