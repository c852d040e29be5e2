import assert from "node:assert/strict";
import { jobParams } from "../../../src/rpc/domain_job_params.ts";
import { migrationJobStats } from "../../../actors/domain_jobs.ts";
import type { MigrationProgress } from "../../../actors/driver_protocol.ts";

/** QMP's final `query-migrate` of a completed migration of the test guest, as the driver reads it. */
const FINAL: MigrationProgress = {
  status: "completed",
  totalTimeMs: 412,
  downtimeMs: 18,
  setupTimeMs: 3,
  memoryTotalBytes: 134_750_208,
  memoryProcessedBytes: 36_446_000,
  memoryRemainingBytes: 0,
  memoryConstantPages: 24070,
  memoryNormalPages: 8828,
  memoryNormalBytes: 8828 * 4096,
  memoryDirtyRate: 0,
  memoryIterations: 3,
  memoryBps: 1_118_000_000,
  memoryPageSize: 4096,
  memoryPostcopyRequests: 0,
};

Deno.test("a completed incoming migration's parameters are libvirt 9.0's, in its order", () => {
  const params = jobParams(migrationJobStats(FINAL, "migration_in"));
  // qemuDomainMigrationJobDataToParams: without the network-less times (no clock delta here).
  assert.deepEqual(params.map((param) => param.field), [
    "operation",
    "time_elapsed",
    "downtime",
    "setup_time",
    "data_total",
    "data_processed",
    "data_remaining",
    "memory_total",
    "memory_processed",
    "memory_remaining",
    "memory_bps",
    "memory_constant",
    "memory_normal",
    "memory_normal_bytes",
    "memory_dirty_rate",
    "memory_iteration",
    "memory_postcopy_requests",
    "memory_page_size",
    "disk_total",
    "disk_processed",
    "disk_remaining",
  ]);
  assert.equal(params[0].value.value, 4); // VIR_DOMAIN_JOB_OPERATION_MIGRATION_IN
  assert.equal(params.find((param) => param.field === "downtime")?.value.value, 18);
});

Deno.test("a running outgoing migration reports the expected downtime; no bandwidth yet: none", () => {
  const stats = migrationJobStats({
    ...FINAL,
    status: "active",
    memoryBps: 0,
    expectedDowntimeMs: 300,
  });
  assert.equal(stats.status, "active");
  assert.equal(stats.downtimeMs, 300);
  const fields = jobParams(stats).map((param) => param.field);
  assert.ok(!fields.includes("memory_bps"));
  assert.equal(jobParams(stats)[0].value.value, 5); // MIGRATION_OUT
});
