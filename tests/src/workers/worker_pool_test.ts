import assert from "node:assert/strict";
import { WorkerPool } from "../../../src/workers/worker_pool.ts";
import { ErrorCode, VirtError } from "../../../src/model/errors.ts";

// Answers any message (with the thread's scheduling, unused here).
const FIXTURE = new URL("./scheduling_fixture_worker.ts", import.meta.url).href;

for (const yieldAround of [false, true]) {
  Deno.test(`a request that cannot be posted (a buffer moved already) is refused with code 1, and the thread serves the next${yieldAround ? " (yielding)" : ""}`, async () => {
    const pool = new WorkerPool<unknown, { ok: true }>(FIXTURE, {
      threadsMax: 1,
      queueMax: 4,
      timeoutMs: 30_000,
      task: "answering",
    });
    try {
      const moved = new ArrayBuffer(8);
      const bytes = new Uint8Array(moved);
      moved.transfer(0);
      await assert.rejects(
        pool.run({ bytes }, [moved], yieldAround),
        (error) =>
          error instanceof VirtError && error.code === ErrorCode.INTERNAL_ERROR &&
          /answering failed/.test(error.message),
      );
      assert.equal((await pool.run(null, [], yieldAround)).ok, true);
      assert.equal(pool.threads, 1);
    } finally {
      pool.close();
    }
  });
}
