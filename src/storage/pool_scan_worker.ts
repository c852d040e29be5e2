/**
 * The worker thread behind `PoolScanner` (pool_scanner.ts): it lists and probes one pool
 * directory per message with blocking I/O (a stat and a header read per entry, the read skipped
 * for an entry unchanged since the thread's last scan of it) and answers only
 * what changed against the volumes the caller knows, so neither the scan nor a large listing
 * crosses the service's main loop.
 *
 * Message in: {@linkcode PoolScanRequest}. Message out: {@linkcode PoolScanReply}.
 *
 * @module
 */

import type { VolumeRecord } from "../model/storage_facts.ts";
import {
  replyOfError,
  serveWorkerRequests,
  type WorkerErrorReply,
} from "../workers/worker_pool.ts";
import { scanPoolDirectorySync } from "./dir_pool.ts";
import { type VolumeChanges, volumeChanges } from "./volume_changes.ts";
import { PROBE_MEMORY_DIRS_MAX, ProbeMemory } from "./probe_memory.ts";

/** The thread's probes of its recent scans (see probe_memory.ts). */
const memory = new ProbeMemory();

/** The known set last parsed per directory, reused while the caller sends the same text. */
const parsedKnown = new Map<string, { text: string; known: Record<string, VolumeRecord> }>();

/** What the worker is asked: the directory, and the volumes known in it by name, as JSON. */
export interface PoolScanRequest {
  path: string;
  knownText: string;
}

/** What it answers: the changes and how many volumes it found, or the scan's error. */
export type PoolScanReply =
  | { ok: true; changes: VolumeChanges; count: number }
  | WorkerErrorReply;

/**
 * Answers one request (exported so it can be tested without a thread).
 *
 * @example
 * ```ts ignore
 * const reply = answerPoolScan({ path: "/var/lib/images", knownText: "{}" });
 * ```
 */
export function answerPoolScan(request: PoolScanRequest): PoolScanReply {
  try {
    const found = scanPoolDirectorySync(request.path, memory).map((volume) => volume.record);
    let last = parsedKnown.get(request.path);
    if (last?.text !== request.knownText) {
      last = { text: request.knownText, known: JSON.parse(request.knownText) };
      parsedKnown.delete(request.path);
      parsedKnown.set(request.path, last);
      while (parsedKnown.size > PROBE_MEMORY_DIRS_MAX) {
        parsedKnown.delete(parsedKnown.keys().next().value!);
      }
    }
    return { ok: true, changes: volumeChanges(last.known, found), count: found.length };
  } catch (error) {
    return replyOfError(error);
  }
}

serveWorkerRequests(answerPoolScan);
