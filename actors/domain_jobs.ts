/**
 * A domain's background job as `domjobinfo` and `domjobabort` see it: a save or restore, or an
 * outgoing live migration, answered beside the domain's queue, which the job itself holds. A
 * save's progress and cancel come from its driver (QEMU `query-migrate`, `migrate_cancel`); a
 * migration's from the host's migration in flight (its last poll). The cancelled save then fails
 * in its own command, which removes the partial image and runs the guest again
 * (`save_commands.ts`), and the cancelled migration in its own, which settles the destination
 * (`migration_commands.ts`), so nothing here changes the log.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../src/model/errors.ts";
import type { DomainInspection } from "./domain_inspection.ts";
import type { DomainJobStats, MigrationProgress } from "./driver_protocol.ts";
import type { Host } from "./host.ts";

/** `virDomainJobType`: none, unbounded (running), completed, failed, cancelled. */
export const JobType = {
  NONE: 0,
  UNBOUNDED: 2,
  COMPLETED: 3,
  FAILED: 4,
  CANCELLED: 5,
} as const;

/** The job type of `stats` (none when there is no job). */
export function jobTypeOf(stats: DomainJobStats | null): number {
  if (stats === null) return JobType.NONE;
  switch (stats.status) {
    case "active":
      return JobType.UNBOUNDED;
    case "completed":
      return JobType.COMPLETED;
    case "failed":
      return JobType.FAILED;
    case "cancelled":
      return JobType.CANCELLED;
  }
}

/** Longest a job query or cancel may take at the driver, in ms. */
export const JOB_QUERY_TIMEOUT_MS = 10_000;

/**
 * The domain's running job (or with `completed` its last completed one); null: none.
 *
 * @throws {VirtError} 55 for the running job of an inactive domain (libvirt's words).
 *
 * @example
 * ```ts ignore
 * const stats = await domainJobStats(host.inspect("web"), { completed: false });
 * ```
 */
export async function domainJobStats(
  inspection: DomainInspection,
  options: { completed: boolean; keepCompleted?: boolean },
  migration?: MigrationProgress,
): Promise<DomainJobStats | null> {
  if (!options.completed && !inspection.summary.active) {
    throw new VirtError(ErrorCode.OPERATION_INVALID, "domain is not running");
  }
  // A migration's figures are not kept once it ends (the source's domain is gone after it).
  if (migration !== undefined && !options.completed) return migrationJobStats(migration);
  const jobStats = inspection.driver?.jobStats?.bind(inspection.driver);
  if (jobStats === undefined) return null;
  return await jobStats(
    inspection.summary.uuid,
    options,
    AbortSignal.timeout(JOB_QUERY_TIMEOUT_MS),
  );
}

/**
 * The job of domain `reference` on `host`: its outgoing live migration, else its save or
 * restore (see {@linkcode domainJobStats}); with `completed`, the incoming migration that
 * brought it here first, while kept (`completed_migrations.ts`).
 *
 * @throws {VirtError} 42 for no such domain; 55 for the running job of an inactive domain.
 */
export function hostJobStats(
  host: Host,
  reference: string,
  options: { completed: boolean; keepCompleted?: boolean },
): Promise<DomainJobStats | null> {
  const inspection = host.inspect(reference);
  const uuid = inspection.summary.uuid;
  if (options.completed) {
    const migrated = host.completedMigrations.read(uuid, options.keepCompleted === true);
    if (migrated !== undefined) return Promise.resolve(migrated);
  }
  return domainJobStats(inspection, options, host.migrationProgress(reference));
}

/**
 * A migration's figures as a job's statistics: its last poll while it runs
 * (`VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT`), or its final figures as the destination keeps
 * them (`MIGRATION_IN`, completed: the measured downtime).
 */
export function migrationJobStats(
  progress: MigrationProgress,
  done?: "migration_in",
): DomainJobStats {
  const downtime = done === undefined ? progress.expectedDowntimeMs : progress.downtimeMs;
  return {
    operation: done ?? "migration_out",
    status: done === undefined ? "active" : "completed",
    timeElapsedMs: progress.totalTimeMs,
    dataTotal: progress.memoryTotalBytes,
    dataProcessed: progress.memoryProcessedBytes,
    dataRemaining: progress.memoryRemainingBytes,
    memoryTotal: progress.memoryTotalBytes,
    memoryProcessed: progress.memoryProcessedBytes,
    memoryRemaining: progress.memoryRemainingBytes,
    memoryConstant: progress.memoryConstantPages,
    memoryNormal: progress.memoryNormalPages,
    memoryNormalBytes: progress.memoryNormalBytes,
    memoryBps: progress.memoryBps,
    memoryDirtyRate: progress.memoryDirtyRate,
    memoryPageSize: progress.memoryPageSize ?? 0,
    memoryIteration: progress.memoryIterations,
    memoryPostcopyRequests: progress.memoryPostcopyRequests ?? 0,
    setupTimeMs: progress.setupTimeMs ?? 0,
    ...(downtime === undefined ? {} : { downtimeMs: downtime }),
  };
}

/**
 * Cancels the domain's outgoing live migration (QEMU stops sending, the guest runs on here, the
 * migration's own call fails with code 78 and settles the destination) or its running save (the
 * save's own call then fails with code 78); resolves once asked.
 *
 * @throws {VirtError} 42 for no such domain; 55 when the domain is not running, has no job,
 *   restores, or `postcopy` is asked (evirt's migrations are pre-copy; libvirt's words).
 */
export async function abortHostJob(
  host: Host,
  reference: string,
  options: { postcopy?: boolean } = {},
): Promise<void> {
  const inspection = host.inspect(reference);
  if (!inspection.summary.active) {
    throw new VirtError(ErrorCode.OPERATION_INVALID, "domain is not running");
  }
  if (options.postcopy === true) {
    // No job is an outgoing migration in post-copy mode: evirt migrates pre-copy only.
    throw new VirtError(
      ErrorCode.OPERATION_INVALID,
      "current job is not outgoing migration in post-copy mode",
    );
  }
  if (host.migrationProgress(reference) !== undefined) {
    const { migration, handle } = host.migrationControl(reference);
    await migration.cancel(handle, AbortSignal.timeout(JOB_QUERY_TIMEOUT_MS));
    return;
  }
  const abortJob = inspection.driver?.abortJob?.bind(inspection.driver);
  const found = abortJob === undefined
    ? null
    : await abortJob(inspection.summary.uuid, AbortSignal.timeout(JOB_QUERY_TIMEOUT_MS));
  if (found === null) {
    throw new VirtError(ErrorCode.OPERATION_INVALID, "no job is active on the domain");
  }
}
