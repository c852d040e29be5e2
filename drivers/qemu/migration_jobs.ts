/**
 * The save and restore jobs of QEMU instances, answered beside the domain's queue (which the
 * save holds): `domjobinfo` reads a save's progress from QMP `query-migrate` (QEMU's RAM
 * figures) and a restore's from the bytes the service has fed QEMU; `domjobabort` cancels a
 * save with `migrate_cancel`. The statistics of the last completed save stay for
 * `domjobinfo --completed` until the instance starts again, as libvirt keeps them in memory
 * (not across a service restart); a completed restore keeps none, as libvirt 9.0's.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import type { DomainJobStats } from "../../actors/driver_protocol.ts";
import type { QmpExecutor } from "./qmp_commands.ts";
import { isRecord } from "./qmp_protocol.ts";

/** What a restore has fed QEMU so far: bytes of the stream sent, and the stream's size. */
export interface StreamCounter {
  sentBytes: number;
  totalBytes: number;
}

interface ActiveJob {
  operation: "save" | "restore";
  startedAtMs: number;
  monitor: QmpExecutor;
  counter?: StreamCounter;
}

function figure(record: Record<string, unknown>, key: string): number {
  const value = record[key];
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : 0;
}

/**
 * A save's statistics from `query-migrate`'s reply, as libvirt's QEMU driver reads them
 * (`ram.transferred` is both data and memory processed; `mbps` is megabits per second).
 */
export function saveStatsOf(
  reply: unknown,
  elapsedMs: number,
  status: DomainJobStats["status"],
): DomainJobStats {
  const record = isRecord(reply) ? reply : {};
  const ram = isRecord(record.ram) ? record.ram : {};
  const processed = figure(ram, "transferred");
  const remaining = figure(ram, "remaining");
  const total = figure(ram, "total");
  const downtimeKey = status === "completed" ? "downtime" : "expected-downtime";
  return {
    operation: "save",
    status,
    timeElapsedMs: elapsedMs,
    dataTotal: total,
    dataProcessed: processed,
    dataRemaining: remaining,
    memoryTotal: total,
    memoryProcessed: processed,
    memoryRemaining: remaining,
    memoryConstant: figure(ram, "duplicate"),
    memoryNormal: figure(ram, "normal"),
    memoryNormalBytes: figure(ram, "normal-bytes"),
    memoryBps: Math.round(figure(ram, "mbps") * 1_000_000 / 8),
    memoryDirtyRate: figure(ram, "dirty-pages-rate"),
    memoryPageSize: figure(ram, "page-size"),
    memoryIteration: figure(ram, "dirty-sync-count"),
    memoryPostcopyRequests: figure(ram, "postcopy-requests"),
    setupTimeMs: figure(record, "setup-time"),
    ...(typeof record[downtimeKey] === "number" ? { downtimeMs: figure(record, downtimeKey) } : {}),
  };
}

/** A restore's statistics from the bytes fed so far. */
function restoreStatsOf(
  counter: StreamCounter,
  elapsedMs: number,
  status: DomainJobStats["status"],
): DomainJobStats {
  const remaining = Math.max(0, counter.totalBytes - counter.sentBytes);
  return {
    operation: "restore",
    status,
    timeElapsedMs: elapsedMs,
    dataTotal: counter.totalBytes,
    dataProcessed: counter.sentBytes,
    dataRemaining: remaining,
    memoryTotal: 0,
    memoryProcessed: 0,
    memoryRemaining: 0,
    memoryConstant: 0,
    memoryNormal: 0,
    memoryNormalBytes: 0,
    memoryBps: 0,
    memoryDirtyRate: 0,
    memoryPageSize: 0,
    memoryIteration: 0,
    memoryPostcopyRequests: 0,
    setupTimeMs: 0,
  };
}

/** The running and last completed save or restore of each instance, by domain uuid. */
export class MigrationJobs {
  readonly #active = new Map<string, ActiveJob>();
  readonly #completed = new Map<string, DomainJobStats>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /**
   * Runs `work` as the instance's save or restore job: visible to {@linkcode stats} and
   * {@linkcode abort} meanwhile; its final statistics kept once it completes.
   */
  async run<T>(
    uuid: string,
    job: { operation: "save" | "restore"; monitor: QmpExecutor; counter?: StreamCounter },
    work: () => Promise<T>,
    signal: AbortSignal,
  ): Promise<T> {
    const active: ActiveJob = { ...job, startedAtMs: this.#now() };
    this.#active.set(uuid, active);
    if (job.operation === "restore") this.#completed.delete(uuid);
    try {
      const result = await work();
      if (job.operation === "save") {
        const final = await this.#statsOf(active, "completed", signal).catch(() => null);
        if (final !== null) this.#completed.set(uuid, final);
      }
      return result;
    } finally {
      this.#active.delete(uuid);
    }
  }

  /** The running job's statistics (or the last completed one's); null: none. */
  async stats(
    uuid: string,
    options: { completed: boolean; keepCompleted?: boolean },
    signal: AbortSignal,
  ): Promise<DomainJobStats | null> {
    if (options.completed) {
      const completed = this.#completed.get(uuid) ?? null;
      if (options.keepCompleted !== true) this.#completed.delete(uuid);
      return completed;
    }
    const active = this.#active.get(uuid);
    return active === undefined ? null : await this.#statsOf(active, "active", signal);
  }

  /**
   * Cancels the instance's save (`migrate_cancel`); its stream then ends `cancelled`.
   *
   * @throws {VirtError} 55 for a restore, as libvirt refuses to abort a start.
   */
  async abort(uuid: string, signal: AbortSignal): Promise<"save" | null> {
    const active = this.#active.get(uuid);
    if (active === undefined) return null;
    if (active.operation === "restore") {
      throw new VirtError(
        ErrorCode.OPERATION_INVALID,
        "cannot abort VM start; use virDomainDestroy instead",
      );
    }
    await active.monitor.execute("migrate_cancel", undefined, { signal });
    return "save";
  }

  /** Forgets an instance's completed job (the domain starts afresh). */
  forget(uuid: string): void {
    this.#completed.delete(uuid);
  }

  async #statsOf(
    active: ActiveJob,
    status: DomainJobStats["status"],
    signal: AbortSignal,
  ): Promise<DomainJobStats> {
    const elapsedMs = Math.max(0, this.#now() - active.startedAtMs);
    if (active.operation === "restore") {
      return restoreStatsOf(active.counter ?? { sentBytes: 0, totalBytes: 0 }, elapsedMs, status);
    }
    const reply = await active.monitor.execute<unknown>("query-migrate", undefined, { signal });
    return saveStatsOf(reply, elapsedMs, status);
  }
}
