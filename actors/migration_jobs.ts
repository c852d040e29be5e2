/**
 * A domain's background job as libvirt reports it (`virDomainGetJobInfo`,
 * `virDomainGetJobStats`, `virsh domjobinfo`): evirt's only background job on a domain is an
 * outgoing live migration, its figures the hypervisor's last poll (at most 50 ms old).
 *
 * @module
 */

import { ErrorCode, VirtError } from "../src/model/errors.ts";
import type { Host } from "./host.ts";
import type { MigrationProgress, MigrationTuning } from "./driver_protocol.ts";

/** `VIR_DOMAIN_JOB_NONE`, `VIR_DOMAIN_JOB_UNBOUNDED`. */
export const JobType = { NONE: 0, UNBOUNDED: 2 } as const;

/** `VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT`. */
export const JOB_OPERATION_MIGRATION_OUT = 5;

/** A job's figures under libvirt's `VIR_DOMAIN_JOB_*` typed-parameter names. */
export interface JobStats {
  type: number;
  /** libvirt's typed parameters: name → value (all unsigned 64-bit but `operation`). */
  params: [string, number][];
}

/**
 * The job of a running domain: its outgoing migration's figures, or none.
 *
 * @throws {VirtError} 42 for no such domain; 55 when it is not running.
 */
export function jobStats(host: Host, reference: string): JobStats {
  const progress = host.migrationProgress(reference);
  if (progress === undefined) return { type: JobType.NONE, params: [] };
  return { type: JobType.UNBOUNDED, params: statsOf(progress) };
}

function statsOf(progress: MigrationProgress): [string, number][] {
  return [
    ["operation", JOB_OPERATION_MIGRATION_OUT],
    ["time_elapsed", progress.totalTimeMs],
    ["data_total", progress.memoryTotalBytes],
    ["data_processed", progress.memoryProcessedBytes],
    ["data_remaining", progress.memoryRemainingBytes],
    ["memory_total", progress.memoryTotalBytes],
    ["memory_processed", progress.memoryProcessedBytes],
    ["memory_remaining", progress.memoryRemainingBytes],
    ["memory_constant", progress.memoryConstantPages],
    ["memory_normal", progress.memoryNormalPages],
    ["memory_normal_bytes", progress.memoryNormalBytes],
    ["memory_bps", progress.memoryBps],
    ["memory_dirty_rate", progress.memoryDirtyRate],
    ["memory_iteration", progress.memoryIterations],
    ...(progress.setupTimeMs === undefined
      ? []
      : [["setup_time", progress.setupTimeMs] as [string, number]]),
    ...(progress.downtimeMs === undefined
      ? []
      : [["downtime", progress.downtimeMs] as [string, number]]),
  ];
}

/** The value of `name` in `stats`, or 0. */
export function statOf(stats: JobStats, name: string): number {
  return stats.params.find(([field]) => field === name)?.[1] ?? 0;
}

/**
 * Cancels the outgoing migration of a running domain (`virDomainAbortJob`): QEMU stops
 * sending and the guest runs on here; the migration's job settles the destination.
 *
 * @throws {VirtError} 55 when no migration is in flight (libvirt's "no job is active").
 */
export async function abortJob(host: Host, reference: string, signal: AbortSignal): Promise<void> {
  if (host.migrationProgress(reference) === undefined) {
    throw new VirtError(ErrorCode.OPERATION_INVALID, "no job is active on the domain");
  }
  const { migration, handle } = host.migrationControl(reference);
  await migration.cancel(handle, signal);
}

/** A running domain's migration limits: bandwidth (MiB/s), downtime (ms). */
export async function migrationLimits(
  host: Host,
  reference: string,
  signal: AbortSignal,
): Promise<Required<MigrationTuning>> {
  const { migration, handle } = host.migrationControl(reference);
  return await migration.limits(handle, signal);
}

/** Sets a running domain's migration limits (the next migration's, or the one in flight). */
export async function setMigrationLimits(
  host: Host,
  reference: string,
  tuning: MigrationTuning,
  signal: AbortSignal,
): Promise<void> {
  const { migration, handle } = host.migrationControl(reference);
  await migration.tune(handle, tuning, signal);
}
