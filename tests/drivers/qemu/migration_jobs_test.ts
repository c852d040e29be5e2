import assert from "node:assert/strict";
import { MigrationJobs, saveStatsOf } from "../../../drivers/qemu/migration_jobs.ts";
import type { QmpExecutor } from "../../../drivers/qemu/qmp_commands.ts";
import { ErrorCode, VirtError } from "../../../src/model/errors.ts";

/** QEMU 7.2's `query-migrate` during a save, trimmed to what is read. */
const ACTIVE_REPLY = {
  status: "active",
  "setup-time": 10,
  "expected-downtime": 300,
  ram: {
    transferred: 1_048_576,
    remaining: 3_145_728,
    total: 4_194_304,
    duplicate: 7,
    normal: 256,
    "normal-bytes": 1_048_576,
    mbps: 8,
    "dirty-pages-rate": 0,
    "page-size": 4096,
    "dirty-sync-count": 1,
    "postcopy-requests": 0,
  },
};

/** A monitor that answers `query-migrate` and records what it was asked. */
function scriptedMonitor(): QmpExecutor & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    execute<T>(command: string): Promise<T> {
      asked.push(command);
      return Promise.resolve((command === "query-migrate" ? ACTIVE_REPLY : {}) as T);
    },
  };
}

const signal = new AbortController().signal;

Deno.test("a save's statistics come from query-migrate's RAM figures, as libvirt reads them", () => {
  const stats = saveStatsOf(ACTIVE_REPLY, 250, "active");
  assert.equal(stats.operation, "save");
  assert.equal(stats.timeElapsedMs, 250);
  assert.deepEqual(
    [stats.dataProcessed, stats.dataRemaining, stats.dataTotal],
    [1_048_576, 3_145_728, 4_194_304],
  );
  assert.equal(stats.memoryTotal, stats.dataTotal);
  assert.equal(stats.memoryBps, 1_000_000, "8 Mbit/s in bytes per second");
  assert.equal(stats.downtimeMs, 300, "the expected downtime while active");
  assert.equal(stats.setupTimeMs, 10);
});

Deno.test("a job is seen while it runs; a completed save is kept for --completed, read once", async () => {
  let now = 1000;
  const jobs = new MigrationJobs(() => now);
  const monitor = scriptedMonitor();
  let release: () => void = () => {};
  const running = jobs.run(
    "u1",
    { operation: "save", monitor },
    () => new Promise<void>((resolve) => (release = resolve)),
    signal,
  );
  now = 1400;
  const active = await jobs.stats("u1", { completed: false }, signal);
  assert.equal(active?.status, "active");
  assert.equal(active?.timeElapsedMs, 400);
  assert.equal(await jobs.stats("u1", { completed: true }, signal), null, "none completed yet");
  release();
  await running;
  assert.equal(await jobs.stats("u1", { completed: false }, signal), null, "no job now");
  const kept = await jobs.stats("u1", { completed: true, keepCompleted: true }, signal);
  assert.equal(kept?.status, "completed");
  assert.equal((await jobs.stats("u1", { completed: true }, signal))?.status, "completed");
  assert.equal(await jobs.stats("u1", { completed: true }, signal), null, "read once");
});

Deno.test("abort cancels a save with migrate_cancel; with no job it finds none", async () => {
  const jobs = new MigrationJobs();
  const monitor = scriptedMonitor();
  assert.equal(await jobs.abort("u1", signal), null);
  let release: () => void = () => {};
  const running = jobs.run(
    "u1",
    { operation: "save", monitor },
    () => new Promise<void>((resolve) => (release = resolve)),
    signal,
  );
  assert.equal(await jobs.abort("u1", signal), "save");
  assert.ok(monitor.asked.includes("migrate_cancel"));
  release();
  await running;
});

Deno.test("a restore cannot be aborted (libvirt's words); its progress is the bytes fed", async () => {
  const jobs = new MigrationJobs();
  const counter = { sentBytes: 300, totalBytes: 1000 };
  let release: () => void = () => {};
  const running = jobs.run(
    "u1",
    { operation: "restore", monitor: scriptedMonitor(), counter },
    () => new Promise<void>((resolve) => (release = resolve)),
    signal,
  );
  await assert.rejects(
    jobs.abort("u1", signal),
    (error) =>
      error instanceof VirtError && error.code === ErrorCode.OPERATION_INVALID &&
      /cannot abort VM start; use virDomainDestroy instead/.test(error.message),
  );
  const stats = await jobs.stats("u1", { completed: false }, signal);
  assert.deepEqual([stats?.operation, stats?.dataProcessed, stats?.dataRemaining], [
    "restore",
    300,
    700,
  ]);
  release();
  await running;
  assert.equal(await jobs.stats("u1", { completed: true }, signal), null, "a restore keeps none");
});
