/**
 * A worker thread for background_priority_test.ts: answers each message with the thread's own
 * scheduling policy and nice value, as the kernel reports them.
 *
 * @module
 */

import { serveWorkerRequests } from "../../../src/workers/worker_pool.ts";
import { threadScheduling } from "../../../src/workers/background_priority.ts";

serveWorkerRequests(() => ({ ok: true, ...threadScheduling() }));
