/**
 * A domain job's statistics as libvirt's wire answers carry them: `virDomainGetJobInfo`'s fixed
 * record and `virDomainGetJobStats`'s typed parameters, with libvirt 9.0's QEMU driver's keys
 * in its order (`VIR_DOMAIN_JOB_*`), from which virsh's `domjobinfo` prints its lines.
 *
 * @module
 */

import type { DomainJobStats } from "../../actors/driver_protocol.ts";
import { jobTypeOf } from "../../actors/domain_jobs.ts";
import { TypedParam, type WireTypedParam } from "./protocol.ts";

/** `virDomainJobOperation` of a save, a restore and an outgoing migration. */
const JOB_OPERATION: Readonly<Record<DomainJobStats["operation"], number>> = {
  save: 2,
  restore: 3,
  migration_in: 4,
  migration_out: 5,
};

/** `virDomainGetJobStats`'s parameters for `stats`, in libvirt's order. */
export function jobParams(stats: DomainJobStats): WireTypedParam[] {
  const ullong = (field: string, value: number): WireTypedParam => ({
    field,
    value: { type: TypedParam.ULLONG, value: Math.max(0, Math.round(value)) },
  });
  const params: WireTypedParam[] = [
    { field: "operation", value: { type: TypedParam.INT, value: JOB_OPERATION[stats.operation] } },
    ullong("time_elapsed", stats.timeElapsedMs),
  ];
  if (stats.downtimeMs !== undefined) params.push(ullong("downtime", stats.downtimeMs));
  if (stats.setupTimeMs > 0) params.push(ullong("setup_time", stats.setupTimeMs));
  params.push(
    ullong("data_total", stats.dataTotal),
    ullong("data_processed", stats.dataProcessed),
    ullong("data_remaining", stats.dataRemaining),
    ullong("memory_total", stats.memoryTotal),
    ullong("memory_processed", stats.memoryProcessed),
    ullong("memory_remaining", stats.memoryRemaining),
  );
  if (stats.memoryBps > 0) params.push(ullong("memory_bps", stats.memoryBps));
  params.push(
    ullong("memory_constant", stats.memoryConstant),
    ullong("memory_normal", stats.memoryNormal),
    ullong("memory_normal_bytes", stats.memoryNormalBytes),
    ullong("memory_dirty_rate", stats.memoryDirtyRate),
    ullong("memory_iteration", stats.memoryIteration),
    ullong("memory_postcopy_requests", stats.memoryPostcopyRequests),
  );
  if (stats.memoryPageSize > 0) params.push(ullong("memory_page_size", stats.memoryPageSize));
  if (stats.operation === "migration_in" || stats.operation === "migration_out") {
    // A migration's disks: evirt's live migration copies none (0, as libvirt reports a
    // migration without a storage copy).
    params.push(ullong("disk_total", 0), ullong("disk_processed", 0), ullong("disk_remaining", 0));
  }
  return params;
}

/** `virDomainGetJobInfo`'s record for `stats` (all zero without a job). */
export function jobInfoOf(stats: DomainJobStats | null): Record<string, number> {
  return {
    type: jobTypeOf(stats),
    timeElapsed: stats?.timeElapsedMs ?? 0,
    timeRemaining: 0,
    dataTotal: stats?.dataTotal ?? 0,
    dataProcessed: stats?.dataProcessed ?? 0,
    dataRemaining: stats?.dataRemaining ?? 0,
    memTotal: stats?.memoryTotal ?? 0,
    memProcessed: stats?.memoryProcessed ?? 0,
    memRemaining: stats?.memoryRemaining ?? 0,
    fileTotal: 0,
    fileProcessed: 0,
    fileRemaining: 0,
  };
}
