/**
 * Pool directory scans off the service's main loop: each scan runs on a worker thread
 * (src/storage/pool_scan_worker.ts) and comes back as the changes against the volumes known.
 *
 * Bounded as every `WorkerPool` (src/workers/worker_pool.ts): at most
 * {@linkcode POOL_SCANNERS_MAX} threads, {@linkcode POOL_SCAN_QUEUE_MAX} scans waiting (one more:
 * code 87), and {@linkcode POOL_SCAN_TIMEOUT_MS} per scan (then code 68). Threads live until the
 * scanner is closed.
 *
 * @module
 */

import type { VolumeRecord } from "../model/storage_facts.ts";
import { errorOfReply, WorkerPool } from "../workers/worker_pool.ts";
import type { PoolScanReply, PoolScanRequest } from "./pool_scan_worker.ts";
import type { VolumeChanges } from "./volume_changes.ts";

/** Scans at once (each waits on the disk; the host's cores are for its guests). */
export const POOL_SCANNERS_MAX = 1;

/** Scans waiting for the thread; one more is refused with code 87. */
export const POOL_SCAN_QUEUE_MAX = 64;

/** How long one scan may take (thread start included), in ms. */
export const POOL_SCAN_TIMEOUT_MS = 300_000;

const WORKER_URL = new URL("./pool_scan_worker.ts", import.meta.url).href;

/**
 * The worker threads that scan pool directories.
 *
 * @example
 * ```ts ignore
 * const scanner = new PoolScanner();
 * const { changes } = await scanner.changes("/var/lib/images", {});
 * scanner.close();
 * ```
 */
export class PoolScanner {
  /**
   * The JSON text of each known set sent: a pool's set is a new object only when a fact changed
   * it, so an unchanged pool's next scan sends the same text without encoding it again, and the
   * thread reuses what it parsed from it (a string crosses to the thread as one copy, where the
   * set as objects would be cloned field by field).
   */
  readonly #texts = new WeakMap<Record<string, VolumeRecord>, string>();
  readonly #pool = new WorkerPool<PoolScanRequest, PoolScanReply>(WORKER_URL, {
    threadsMax: POOL_SCANNERS_MAX,
    queueMax: POOL_SCAN_QUEUE_MAX,
    timeoutMs: POOL_SCAN_TIMEOUT_MS,
    task: "scanning the pool directory",
  });

  /** Starts the thread now if none lives: call it before the service accepts callers. */
  prestart(): void {
    this.#pool.prestart();
  }

  /**
   * Lists and probes `path` on the thread; answers the changes against `known`.
   *
   * @throws {VirtError} The scan's own error (38, 84); 87, 68, 1, 78 as `WorkerPool.run`.
   */
  async changes(
    path: string,
    known: Record<string, VolumeRecord>,
  ): Promise<{ changes: VolumeChanges; count: number }> {
    let knownText = this.#texts.get(known);
    if (knownText === undefined) {
      knownText = JSON.stringify(known);
      this.#texts.set(known, knownText);
    }
    const reply = await this.#pool.run({ path, knownText });
    if (!reply.ok) throw errorOfReply(reply);
    return { changes: reply.changes, count: reply.count };
  }

  /** Ends the thread; scans waiting or running are refused with code 78. */
  close(): void {
    this.#pool.close();
  }
}
