/**
 * A domain's background job (a save or restore) as `domjobinfo` and `domjobabort` see it,
 * answered beside the domain's queue, which the job itself holds: the driver reports the
 * progress and cancels (QEMU `query-migrate`, `migrate_cancel`). The cancelled save then fails
 * in its own command, which removes the partial image and runs the guest again
 * (`save_commands.ts`), so nothing here changes the log.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../src/model/errors.ts";
import type { DomainInspection } from "./domain_inspection.ts";
import type { DomainJobStats } from "./driver_protocol.ts";

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
): Promise<DomainJobStats | null> {
  if (!options.completed && !inspection.summary.active) {
    throw new VirtError(ErrorCode.OPERATION_INVALID, "domain is not running");
  }
  const jobStats = inspection.driver?.jobStats?.bind(inspection.driver);
  if (jobStats === undefined) return null;
  return await jobStats(
    inspection.summary.uuid,
    options,
    AbortSignal.timeout(JOB_QUERY_TIMEOUT_MS),
  );
}

/**
 * Cancels the domain's running save (`virDomainAbortJob`); resolves once asked (the save's own
 * call then fails with code 78).
 *
 * @throws {VirtError} 55 when the domain is not running, has no job, restores, or `postcopy`
 *   is asked (libvirt's words).
 */
export async function abortDomainJob(
  inspection: DomainInspection,
  options: { postcopy?: boolean } = {},
): Promise<void> {
  if (!inspection.summary.active) {
    throw new VirtError(ErrorCode.OPERATION_INVALID, "domain is not running");
  }
  if (options.postcopy === true) {
    // evirt runs no outgoing migration: no job is one in post-copy mode.
    throw new VirtError(
      ErrorCode.OPERATION_INVALID,
      "current job is not outgoing migration in post-copy mode",
    );
  }
  const abortJob = inspection.driver?.abortJob?.bind(inspection.driver);
  const found = abortJob === undefined
    ? null
    : await abortJob(inspection.summary.uuid, AbortSignal.timeout(JOB_QUERY_TIMEOUT_MS));
  if (found === null) {
    throw new VirtError(ErrorCode.OPERATION_INVALID, "no job is active on the domain");
  }
}
