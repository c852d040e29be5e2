/**
 * How a volume job runs beside its pool's queue: its intent (`volume.job_started`) recorded in
 * the queue before it touches the volume, its work done outside the queue (other volumes of the
 * pool are served meanwhile) with the job's cancel and progress, and its end recorded in the
 * queue again — its own facts when it succeeds, `volume.job_ended` with the outcome when it
 * fails or is cancelled (a half-made volume removed first, when the job made one).
 *
 * @module
 */

import type { SparsePiece } from "../src/storage/sparse_stream.ts";
import type { StorageFact, VolumeJobKind, VolumeRecord } from "../src/model/storage_facts.ts";
import type { VolumeWork } from "../src/storage/dir_pool.ts";
import type { PoolActor } from "./pool_actor.ts";
import type { VolumeJobHandle, VolumeJobs } from "./volume_jobs.ts";

/**
 * How long a finished volume job waits for its turn in the pool's queue to record its end, in
 * ms: the work is done, so it waits longer than a caller would.
 */
export const JOB_RECORD_TIMEOUT_MS = 120_000;

/** Longest reason recorded for a failed job, in characters. */
const JOB_REASON_MAX_CHARS = 1024;

/**
 * In the pool's queue: marks `volume` busy with `verb` and records the job's intent.
 *
 * @throws {VirtError} Code 55 when the volume is busy, 87 when too many jobs run; nothing is
 *   recorded then.
 */
export async function beginVolumeJob(
  actor: PoolActor,
  jobs: VolumeJobs,
  volume: VolumeRecord,
  kind: VolumeJobKind,
  verb: string,
): Promise<VolumeJobHandle> {
  jobs.check(actor.uuid, volume.name);
  const bytesTotal = volume.physicalBytes ?? volume.capacityBytes;
  const handle = jobs.begin(actor.uuid, volume.name, verb, { bytesTotal });
  try {
    await actor.append([{
      type: "volume.job_started",
      body: { name: volume.name, job: kind, path: volume.path, bytesTotal },
    }]);
  } catch (error) {
    handle.end();
    throw error;
  }
  return handle;
}

/** The steps of {@linkcode runVolumeJob}. */
export interface VolumeJobSteps<T> {
  /** The work, outside the queue: told the job's cancel and progress. */
  work: (work: VolumeWork) => Promise<T>;
  /** The facts that record its success. */
  finish: (result: T) => StorageFact[];
  /** After a failure or cancel: undoes what it half-made; resolves whether it removed a volume. */
  undo?: (error: unknown) => Promise<boolean>;
  /** What a failure or cancel leaves, recorded with it (default: the error). */
  reason?: string;
  /** Run in the queue after the end is recorded (a refresh: new figures). */
  refresh?: () => Promise<void>;
}

/**
 * Runs a volume job's work outside the pool's queue, then records its end in the queue. The
 * job ends (its volume free again) once its end is recorded.
 *
 * @returns What the work returned.
 * @throws What the work threw (the signal's reason, code 78, when cancelled).
 */
export async function runVolumeJob<T>(
  actor: PoolActor,
  handle: VolumeJobHandle,
  name: string,
  kind: VolumeJobKind,
  steps: VolumeJobSteps<T>,
): Promise<T> {
  const label = `${handle.job.name} ${name}: end`;
  try {
    let result: T;
    try {
      result = await steps.work({ signal: handle.signal, onProgress: handle.progress });
    } catch (error) {
      const removed = await (steps.undo?.(error) ?? Promise.resolve(false)).catch(() => false);
      const cancelled = handle.signal.aborted;
      await actor.run(label, async () => {
        await actor.append([{
          type: "volume.job_ended",
          body: {
            name,
            job: kind,
            outcome: cancelled ? "cancelled" : "failed",
            removed,
            bytesDone: handle.job.bytesDone,
            reason: (steps.reason ?? (cancelled ? "cancelled" : String(error))).slice(
              0,
              JOB_REASON_MAX_CHARS,
            ),
          },
        }]);
        await steps.refresh?.().catch(() => {});
      }, JOB_RECORD_TIMEOUT_MS);
      throw error;
    }
    await actor.run(label, async () => {
      await actor.append(steps.finish(result));
      await steps.refresh?.();
    }, JOB_RECORD_TIMEOUT_MS);
    return result;
  } finally {
    handle.end();
  }
}

/**
 * The pieces of `body`, stopped by the job's cancel (at once, even while the sender is silent).
 * Progress is counted by the writer, as bytes reach the file.
 *
 * @example
 * ```ts ignore
 * await writeVolumeRange(path, cancellablePieces(body, work), range, sparse, {
 *   onWritten: (bytes) => work.onProgress?.(bytes, 0),
 * });
 * ```
 */
export async function* cancellablePieces(
  body: AsyncIterable<SparsePiece>,
  work: VolumeWork,
): AsyncIterable<SparsePiece> {
  const signal = work.signal;
  const aborted = new Promise<never>((_resolve, reject) => {
    if (signal?.aborted === true) reject(signal.reason);
    signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
  // Raced below; a cancel after the last piece is nobody's error.
  aborted.catch(() => {});
  const iterator = body[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = await Promise.race([iterator.next(), aborted]);
      if (next.done === true) return;
      yield next.value;
    }
  } finally {
    // Not awaited: a sender that is silent would hold the return as long as it is.
    iterator.return?.()?.catch(() => {});
  }
}
