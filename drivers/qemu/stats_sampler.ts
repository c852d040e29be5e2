/**
 * The statistics sampler of one running QEMU: polls the monitor and the host at a fixed interval
 * so that every read of a domain's figures (`domstats`, `domblkstat`, `dommemstat`, `vcpuinfo`,
 * metrics) answers from the last sample and never waits on QEMU.
 *
 * One round, at most one at a time, the next one {@linkcode StatsSamplerOptions.intervalMs}
 * after the previous ended:
 *
 * 1. QMP `query-blockstats`, `query-named-block-nodes` (flat), `query-cpus-fast`, and with a
 *    balloon `query-balloon` (and `qom-get guest-stats` when the balloon has a statistics
 *    period), one after another, each bounded by the query timeout;
 * 2. `/proc/PID/stat` (CPU time, resident memory) and, per vCPU thread (the `thread-id` of
 *    `query-cpus-fast`), `/proc/PID/task/TID/{stat,schedstat,status}` (time, wait, last CPU,
 *    affinity);
 * 3. the size of a disk's container where QEMU reports no actual-size (a block device), from
 *    storage under a short deadline;
 * 4. tap interfaces' counters from `/sys/class/net/<tap>/statistics`, swapped to the guest's
 *    view (what the host transmits on a tap, the guest receives).
 *
 * A round that fails (a query times out because QEMU stopped answering, the monitor is gone)
 * keeps the previous figures and marks them stale with the reason; the next round tries again.
 * Optional parts QEMU refuses (no guest statistics yet) are left out without staleness.
 *
 * @module
 */

import type {
  BlockSample,
  InstanceSamples,
  InterfaceSample,
  VcpuSample,
} from "../../actors/driver_protocol.ts";
import type { DomainDefinition } from "../../src/model/domain.ts";
import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import type { BlockQmpReplies, RunningDisk } from "./block_node_facts.ts";
import { qmpBlockFigures } from "./qmp_block_figures.ts";
import {
  parseCpusAllowed,
  parseProcessFigures,
  parseSchedstat,
  readProcText,
} from "./process_figures.ts";
import type { QmpCommands, QmpCpuInfoFast } from "./qmp_commands.ts";
import { QmpCommandError } from "./qmp_errors.ts";
import { QMP_QUERY_TIMEOUT_MS } from "./qmp_monitor.ts";
import { isRecord } from "./qmp_protocol.ts";
import {
  readStorageInfo,
  type StorageInfo,
  type StorageReader,
} from "../../src/storage/storage_info.ts";

/** Default time between the end of one sampling round and the start of the next, in ms. */
export const STATS_INTERVAL_MS_DEFAULT = 1000;

/** Shortest interval accepted, in ms: faster polling only loads the monitors. */
export const STATS_INTERVAL_MS_MIN = 50;

/** Longest interval accepted, in ms. */
export const STATS_INTERVAL_MS_MAX = 3_600_000;

/** How long re-reading one disk container's size may take in a round, in ms. */
export const CONTAINER_READ_TIMEOUT_MS = 1000;

/** Most file descriptors looked at when finding the names of a QEMU's tap devices. */
export const TAP_FD_SCAN_MAX = 4096;

/** The QOM path of the balloon device the QEMU driver creates. */
const BALLOON_QOM_PATH = "/machine/peripheral/balloon0";

/** The interface counters in `/sys/class/net/<dev>/statistics`, host view. */
const NET_COUNTERS = [
  "rx_bytes",
  "rx_packets",
  "rx_errors",
  "rx_dropped",
  "tx_bytes",
  "tx_packets",
  "tx_errors",
  "tx_dropped",
] as const;

/** QEMU's guest memory statistics → `virsh dommemstat` names and divisors (bytes → KiB). */
const GUEST_MEMORY_STATS: ReadonlyArray<[string, string, number]> = [
  ["stat-swap-in", "swap_in", 1024],
  ["stat-swap-out", "swap_out", 1024],
  ["stat-major-faults", "major_fault", 1],
  ["stat-minor-faults", "minor_fault", 1],
  ["stat-free-memory", "unused", 1024],
  ["stat-total-memory", "available", 1024],
  ["stat-available-memory", "usable", 1024],
  ["last-update", "last_update", 1],
  ["stat-disk-caches", "disk_caches", 1024],
  ["stat-htlb-pgalloc", "hugetlb_pgalloc", 1],
  ["stat-htlb-pgfail", "hugetlb_pgfail", 1],
];

/** Options of {@linkcode StatsSampler}. */
export interface StatsSamplerOptions {
  /** The instance's QMP commands now (a reconnect replaces them); undefined while disconnected. */
  qmp: () => QmpCommands | undefined;
  /** QEMU's pid. */
  pid: number;
  /** The live definition (balloon, interfaces). */
  definition: DomainDefinition;
  /** How each disk of the definition is named in QEMU's replies, by position. */
  disks: RunningDisk[];
  /** Time between rounds. Default {@linkcode STATS_INTERVAL_MS_DEFAULT}. */
  intervalMs?: number;
  /** Timeout of each query. Default {@linkcode QMP_QUERY_TIMEOUT_MS}. */
  queryTimeoutMs?: number;
  /** The clock, in ms since the epoch. Default `Date.now`. */
  now?: () => number;
  /** Where `/proc` is (tests point it elsewhere). Default `/proc`. */
  procRoot?: string;
  /** Where network devices are listed. Default `/sys/class/net`. */
  netRoot?: string;
  /** Reads a disk container's size. Default {@linkcode readStorageInfo} with a short deadline. */
  readStorage?: StorageReader;
  /** Told of a round that failed for a reason other than QEMU not answering (a bug, mostly). */
  log?: (message: string) => void;
}

/** What QEMU answered in one round. */
interface QmpRound {
  block: BlockQmpReplies;
  cpus: QmpCpuInfoFast[];
  balloonKiB: number | undefined;
  guestMemory: Array<[string, number]> | undefined;
}

/**
 * Samples one running QEMU at a fixed interval.
 *
 * @example
 * ```ts ignore
 * const sampler = new StatsSampler({ qmp: () => commands, pid, definition, disks });
 * sampler.start();
 * // … later, without waiting on QEMU:
 * console.log(sampler.samples.cpu?.timeNs);
 * sampler.stop();
 * ```
 */
export class StatsSampler {
  readonly #options: StatsSamplerOptions;
  readonly #intervalMs: number;
  readonly #queryTimeoutMs: number;
  readonly #now: () => number;
  readonly #procRoot: string;
  readonly #netRoot: string;
  readonly #readStorage: StorageReader;
  #samples: InstanceSamples = { takenAtMs: undefined, stale: false };
  #timer: ReturnType<typeof setTimeout> | undefined;
  #controller: AbortController | undefined;
  #round: Promise<void> | undefined;
  #tapNames: Map<number, string> | undefined;

  /**
   * @param options What to sample and how often.
   * @throws {TypeError} When the interval or timeout is out of range (a programming error).
   */
  constructor(options: StatsSamplerOptions) {
    const intervalMs = options.intervalMs ?? STATS_INTERVAL_MS_DEFAULT;
    if (
      !Number.isSafeInteger(intervalMs) || intervalMs < STATS_INTERVAL_MS_MIN ||
      intervalMs > STATS_INTERVAL_MS_MAX
    ) {
      throw new TypeError(
        `Cannot sample: intervalMs must be ${STATS_INTERVAL_MS_MIN}..${STATS_INTERVAL_MS_MAX}, received ${intervalMs}`,
      );
    }
    const queryTimeoutMs = options.queryTimeoutMs ?? QMP_QUERY_TIMEOUT_MS;
    if (!Number.isSafeInteger(queryTimeoutMs) || queryTimeoutMs <= 0) {
      throw new TypeError(`Cannot sample: queryTimeoutMs must be > 0, received ${queryTimeoutMs}`);
    }
    this.#options = options;
    this.#intervalMs = intervalMs;
    this.#queryTimeoutMs = queryTimeoutMs;
    this.#now = options.now ?? Date.now;
    this.#procRoot = options.procRoot ?? "/proc";
    this.#netRoot = options.netRoot ?? "/sys/class/net";
    this.#readStorage = options.readStorage ??
      ((path) => readStorageInfo(path, { timeoutMs: CONTAINER_READ_TIMEOUT_MS }));
  }

  /** The latest samples (the previous ones, marked stale, when the last round failed). */
  get samples(): InstanceSamples {
    return this.#samples;
  }

  /** Whether rounds are scheduled. */
  get running(): boolean {
    return this.#controller !== undefined;
  }

  /** Starts sampling: a first round now, then one every interval. Idempotent. */
  start(): void {
    if (this.#controller !== undefined) return;
    this.#controller = new AbortController();
    this.#schedule(0);
  }

  /** Stops sampling and abandons a round in progress; the last samples stay readable. */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#controller?.abort();
    this.#controller = undefined;
  }

  /**
   * Runs one round now (or joins the one in progress) and resolves when it is done; it never
   * rejects: a failure marks the samples stale.
   */
  sampleOnce(): Promise<void> {
    if (this.#round !== undefined) return this.#round;
    const signal = this.#controller?.signal ?? new AbortController().signal;
    this.#round = this.#runRound(signal).finally(() => this.#round = undefined);
    return this.#round;
  }

  #schedule(delayMs: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const controller = this.#controller;
      if (controller === undefined) return;
      this.sampleOnce().then(() => {
        // Only the sampler's own schedule continues, and only while it was not stopped.
        if (this.#controller === controller) this.#schedule(this.#intervalMs);
      });
    }, delayMs);
  }

  async #runRound(signal: AbortSignal): Promise<void> {
    try {
      const qmp = this.#options.qmp();
      if (qmp === undefined) {
        this.#markStale("no connection to the monitor");
        return;
      }
      const round = await this.#queryQmp(qmp, signal);
      if (signal.aborted) return;
      const samples = await this.#collect(round);
      if (signal.aborted) return;
      this.#samples = samples;
    } catch (error) {
      if (signal.aborted) return;
      const message = error instanceof Error ? error.message : String(error);
      this.#markStale(message);
      if (!(error instanceof VirtError) || error.code === ErrorCode.INTERNAL_ERROR) {
        this.#options.log?.(`statistics of pid ${this.#options.pid}: ${message}`);
      }
    }
  }

  #markStale(reason: string): void {
    this.#samples = { ...this.#samples, stale: true, staleReason: reason };
  }

  async #queryQmp(qmp: QmpCommands, signal: AbortSignal): Promise<QmpRound> {
    const options = { timeoutMs: this.#queryTimeoutMs, signal };
    const blockstats = await qmp.queryBlockstats({}, options);
    const namedNodes = await qmp.queryNamedBlockNodes({ flat: true }, options);
    const cpus = await qmp.queryCpusFast(options);
    const balloon = this.#options.definition.devices.memballoon;
    let balloonKiB: number | undefined;
    let guestMemory: Array<[string, number]> | undefined;
    if (balloon !== undefined && balloon.model !== "none") {
      balloonKiB = await optional(async () =>
        Math.floor((await qmp.queryBalloon(options)).actual / 1024)
      );
      if ((balloon.statsPeriod ?? 0) > 0) {
        guestMemory = await optional(async () =>
          guestMemoryStats(await qmp.qomGet(BALLOON_QOM_PATH, "guest-stats", options))
        );
      }
    }
    return { block: { blockstats, namedNodes }, cpus, balloonKiB, guestMemory };
  }

  async #collect(round: QmpRound): Promise<InstanceSamples> {
    const { pid } = this.#options;
    const statPath = `${this.#procRoot}/${pid}/stat`;
    const stat = readProcText(statPath);
    if (stat === undefined) {
      throw new VirtError(ErrorCode.OPERATION_FAILED, `qemu process ${pid} is gone`);
    }
    const figures = parseProcessFigures(stat, statPath);
    const samples: InstanceSamples = {
      takenAtMs: this.#now(),
      stale: false,
      cpu: {
        timeNs: figures.userNs + figures.systemNs,
        userNs: figures.userNs,
        systemNs: figures.systemNs,
      },
      rssKiB: figures.rssKiB,
      vcpus: this.#vcpus(round.cpus),
      block: await this.#block(round.block),
      interfaces: this.#interfaces(),
    };
    if (round.balloonKiB !== undefined) samples.balloonKiB = round.balloonKiB;
    if (round.guestMemory !== undefined) samples.guestMemory = round.guestMemory;
    return samples;
  }

  #vcpus(cpus: QmpCpuInfoFast[]): VcpuSample[] {
    const vcpus: VcpuSample[] = [];
    for (const cpu of cpus) {
      const number = cpu["cpu-index"];
      const thread = cpu["thread-id"];
      if (!Number.isSafeInteger(number) || !Number.isSafeInteger(thread) || thread <= 0) continue;
      const dir = `${this.#procRoot}/${this.#options.pid}/task/${thread}`;
      const stat = readProcText(`${dir}/stat`);
      const status = readProcText(`${dir}/status`);
      if (stat === undefined || status === undefined) continue;
      const figures = parseProcessFigures(stat, `${dir}/stat`);
      const schedstat = readProcText(`${dir}/schedstat`);
      const vcpu: VcpuSample = {
        number,
        // QEMU cannot tell a halted vCPU from a running one here; libvirt reports running too.
        state: 1,
        timeNs: figures.userNs + figures.systemNs,
        hostCpu: figures.processor,
        affinity: parseCpusAllowed(status, `${dir}/status`),
      };
      if (schedstat !== undefined) {
        vcpu.waitNs = parseSchedstat(schedstat, `${dir}/schedstat`).waitNs;
      }
      vcpus.push(vcpu);
    }
    return vcpus.sort((a, b) => a.number - b.number);
  }

  /** The round's block figures, with container sizes re-read where QEMU gave none. */
  async #block(replies: BlockQmpReplies): Promise<BlockSample> {
    const disks = this.#options.disks.map((disk) => qmpBlockFigures(replies, disk));
    const containers: Record<string, StorageInfo> = {};
    for (const figures of disks) {
      const path = figures.path;
      if (path === undefined || path === "" || path in containers) continue;
      if (!figures.reported || (figures.image?.allocatedBytes ?? 0) > 0) continue;
      try {
        containers[path] = await this.#readStorage(path);
      } catch (error) {
        // An unreadable container only leaves its physical size out.
        if (!(error instanceof VirtError)) throw error;
      }
    }
    return { disks, containers };
  }

  #interfaces(): InterfaceSample[] {
    const nics = this.#options.definition.devices.interfaces;
    if (!nics.some((nic) => nic.type === "ethernet")) return [];
    const names = this.#tapNames ?? this.#resolveTapNames();
    const samples: InterfaceSample[] = [];
    for (const [index, name] of names) {
      const host = this.#hostCounters(name);
      if (host === undefined) continue;
      // A tap's host side transmits what the guest receives: swap to the guest's view.
      samples.push({
        index,
        name,
        rxBytes: host.tx_bytes,
        rxPackets: host.tx_packets,
        rxErrors: host.tx_errors,
        rxDrops: host.tx_dropped,
        txBytes: host.rx_bytes,
        txPackets: host.rx_packets,
        txErrors: host.rx_errors,
        txDrops: host.rx_dropped,
      });
    }
    return samples;
  }

  /**
   * The tap name of each `ethernet` interface, by position. A named target is used as is; the
   * others get the names QEMU's open tun descriptors report (`iff:` in fdinfo), in descriptor
   * order, which is the order QEMU opened them: the order of the command line.
   */
  #resolveTapNames(): Map<number, string> {
    const nics = this.#options.definition.devices.interfaces;
    const names = new Map<number, string>();
    const unnamed: number[] = [];
    nics.forEach((nic, index) => {
      if (nic.type !== "ethernet") return;
      if (nic.target?.dev !== undefined) names.set(index, nic.target.dev);
      else unnamed.push(index);
    });
    if (unnamed.length > 0) {
      const taken = new Set(names.values());
      const opened = this.#openTapNames().filter((name) => !taken.has(name));
      unnamed.forEach((index, position) => {
        if (position < opened.length) names.set(index, opened[position]);
      });
    }
    // Keep the answer once every tap is named; otherwise look again next round.
    if (names.size === nics.filter((nic) => nic.type === "ethernet").length) {
      this.#tapNames = names;
    }
    return names;
  }

  #openTapNames(): string[] {
    const dir = `${this.#procRoot}/${this.#options.pid}/fdinfo`;
    let fds: number[];
    try {
      fds = [...Deno.readDirSync(dir)].map((entry) => Number(entry.name))
        .filter((fd) => Number.isSafeInteger(fd)).sort((a, b) => a - b).slice(0, TAP_FD_SCAN_MAX);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return [];
      throw error;
    }
    const names: string[] = [];
    for (const fd of fds) {
      const name = /^iff:\s*(\S+)\s*$/m.exec(readProcText(`${dir}/${fd}`) ?? "")?.[1];
      if (name !== undefined) names.push(name);
    }
    return names;
  }

  #hostCounters(name: string): Record<(typeof NET_COUNTERS)[number], number> | undefined {
    if (!/^[A-Za-z0-9_.:-]{1,15}$/.test(name)) return undefined;
    const counters = {} as Record<(typeof NET_COUNTERS)[number], number>;
    for (const counter of NET_COUNTERS) {
      const text = readProcText(`${this.#netRoot}/${name}/statistics/${counter}`);
      const value = Number(text?.trim());
      if (text === undefined || !Number.isSafeInteger(value) || value < 0) return undefined;
      counters[counter] = value;
    }
    return counters;
  }
}

/**
 * The guest memory statistics of a balloon (`qom-get … guest-stats`) with `virsh dommemstat`'s
 * names, in libvirt's order, sizes in KiB; QEMU's -1 (not reported by the guest) is left out.
 *
 * @param reply The `qom-get` reply: `{stats: {"stat-swap-in": …, …}, "last-update": …}`.
 * @returns The named figures.
 * @throws {VirtError} INTERNAL_ERROR when the reply is not of that shape.
 *
 * @example
 * ```ts
 * import { guestMemoryStats } from "./stats_sampler.ts";
 * console.log(guestMemoryStats({ "last-update": 5, stats: { "stat-free-memory": 2048, "stat-swap-in": -1 } }));
 * // [["unused", 2], ["last_update", 5]]
 * ```
 */
export function guestMemoryStats(reply: unknown): Array<[string, number]> {
  if (!isRecord(reply) || !isRecord(reply.stats)) {
    throw new VirtError(
      ErrorCode.INTERNAL_ERROR,
      `unexpected reply to 'qom-get guest-stats': ${JSON.stringify(reply)?.slice(0, 80)}`,
    );
  }
  const stats = reply.stats;
  const result: Array<[string, number]> = [];
  for (const [qemuName, name, divisor] of GUEST_MEMORY_STATS) {
    const value = qemuName === "last-update" ? reply[qemuName] : stats[qemuName];
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) continue;
    result.push([name, Math.floor(value / divisor)]);
  }
  return result;
}

/** Runs an optional query: QEMU refusing it leaves the figure out; anything else propagates. */
async function optional<T>(query: () => Promise<T>): Promise<T | undefined> {
  try {
    return await query();
  } catch (error) {
    if (error instanceof QmpCommandError) return undefined;
    throw error;
  }
}
