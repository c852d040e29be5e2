import assert from "node:assert/strict";
import { WorkerPool } from "../../../src/workers/worker_pool.ts";
import { SCHED_BATCH, threadScheduling } from "../../../src/workers/background_priority.ts";

const SCHED_OTHER = 0;
const FIXTURE = new URL("./scheduling_fixture_worker.ts", import.meta.url).href;

Deno.test("a pool's worker thread runs as a batch thread at its nice value; the main loop keeps its policy", async () => {
  const before = threadScheduling();
  const pool = new WorkerPool<null, { ok: true; policy: number; nice: number }>(FIXTURE, {
    threadsMax: 1,
    queueMax: 1,
    timeoutMs: 30_000,
    task: "reporting its scheduling",
  });
  try {
    const reply = await pool.run(null);
    assert.deepEqual({ policy: reply.policy, nice: reply.nice }, {
      policy: SCHED_BATCH,
      nice: before.nice,
    });
  } finally {
    pool.close();
  }
  assert.deepEqual(threadScheduling(), before);
  assert.deepEqual(before.policy, SCHED_OTHER);
});
