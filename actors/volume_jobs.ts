/**
 * The long jobs volumes are busy with (a filled create, a clone, a wipe, an upload, a
 * download): one per volume at a time, each with its bytes done of its total and a cancel.
 * Any other call on a busy volume is refused at once with libvirt's error (code 55, `volume
 * 'x' is still in use.`, or `… is still being allocated.` for a volume being made) naming the
 * job, never queued behind it. The source of a clone is in use: calls that would change it
 * (delete, wipe, resize, upload) are refused while reads and other clones of it run. Jobs on
 * different volumes run in parallel, outside the pool's queue.
 *
 * libvirt's storage calls block with no job API of their own; the job view and cancel are
 * evirt's (`volume.job`, `volume.job_cancel` in the operations table).
 *
 * @module
 */

import { ErrorCode, VirtError } from "../src/model/errors.ts";

/** Volume jobs running at once, service-wide (each holds a file and a process or connection). */
export const VOLUME_JOBS_MAX = 64;

/** What a volume is busy with. */
export interface VolumeJob {
  /** The verb that runs it: `vol-clone`, `vol-create`, `vol-wipe`, `vol-upload`, `vol-download`. */
  name: string;
  /** Whether the job makes the volume (it is not counted in the pool until it ends). */
  makesVolume: boolean;
  sinceMs: number;
  /** Bytes done so far. */
  bytesDone: number;
  /** Bytes the job will move, when known (0: unknown). */
  bytesTotal: number;
  /** Whether a cancel was asked. */
  cancelled: boolean;
}

/** What {@linkcode VolumeJobs.begin} hands the job's runner. */
export interface VolumeJobHandle {
  job: VolumeJob;
  /** Aborted when the job is cancelled. */
  signal: AbortSignal;
  /** Records progress (bytes done of the total). */
  progress: (bytesDone: number, bytesTotal?: number) => void;
  /** Ends the job: the volume (and the clone's source) are free again. Idempotent. */
  end: () => void;
}

interface Entry {
  job: VolumeJob;
  controller: AbortController;
}

function busyText(job: VolumeJob): string {
  return `busy with ${job.name} since ${new Date(job.sinceMs).toISOString()}`;
}

/** The running volume jobs. */
export class VolumeJobs {
  readonly #jobs = new Map<string, Entry>();
  /** Volumes read by a running clone, with the clone jobs reading them. */
  readonly #sources = new Map<string, VolumeJob[]>();

  /**
   * Refuses when the volume is busy: with any call while a job runs on it; with a call that
   * changes it (`write`) while a clone reads it.
   *
   * @throws {VirtError} Code 55 with libvirt's message and the job's name.
   */
  check(pool: string, volume: string, access: "read" | "write" = "write"): void {
    const key = `${pool}/${volume}`;
    const entry = this.#jobs.get(key);
    if (entry !== undefined) {
      const state = entry.job.makesVolume ? "still being allocated" : "still in use";
      throw new VirtError(
        ErrorCode.OPERATION_INVALID,
        `volume '${volume}' is ${state}. (${busyText(entry.job)})`,
        { where: `job ${entry.job.name}` },
      );
    }
    const readers = this.#sources.get(key);
    if (access === "write" && readers !== undefined && readers.length > 0) {
      throw new VirtError(
        ErrorCode.OPERATION_INVALID,
        `volume '${volume}' is still in use. (${busyText(readers[0])} of it)`,
        { where: `job ${readers[0].name}` },
      );
    }
  }

  /** The job a volume is busy with, if any. */
  job(pool: string, volume: string): VolumeJob | undefined {
    return this.#jobs.get(`${pool}/${volume}`)?.job;
  }

  /** What the pool is busy with, as a busy error ends (` (busy with … since …)`), or "". */
  busyText(pool: string): string {
    for (const [key, entry] of this.#jobs) {
      if (key.startsWith(`${pool}/`)) return ` (${busyText(entry.job)})`;
    }
    return "";
  }

  /** How many jobs run on volumes of `pool`. */
  countIn(pool: string): number {
    let count = 0;
    for (const key of this.#jobs.keys()) if (key.startsWith(`${pool}/`)) count++;
    return count;
  }

  /** How many jobs run. */
  get size(): number {
    return this.#jobs.size;
  }

  /** Asks every job to stop (the service is closing); each ends and records how on its own. */
  cancelAll(): void {
    for (const [key, entry] of this.#jobs) {
      entry.job.cancelled = true;
      entry.controller.abort(
        new VirtError(ErrorCode.OPERATION_ABORTED, `${entry.job.name} of '${key}': closing`),
      );
    }
  }

  /**
   * Asks the job on the volume to stop; it ends (and records how) on its own.
   *
   * @returns The job, marked cancelled.
   * @throws {VirtError} Code 55 when no job runs on the volume.
   */
  cancel(pool: string, volume: string): VolumeJob {
    const entry = this.#jobs.get(`${pool}/${volume}`);
    if (entry === undefined) {
      throw new VirtError(ErrorCode.OPERATION_INVALID, `no job is active on volume '${volume}'`);
    }
    entry.job.cancelled = true;
    entry.controller.abort(
      new VirtError(ErrorCode.OPERATION_ABORTED, `${entry.job.name} of volume '${volume}'`),
    );
    return entry.job;
  }

  /**
   * Marks the volume busy with `name` until the handle's `end` is called; with `source`, marks
   * that volume in use (read, not changed) meanwhile.
   *
   * @throws {VirtError} Code 55 when either is busy already, 87 when too many jobs run.
   */
  begin(
    pool: string,
    volume: string,
    name: string,
    options: {
      makesVolume?: boolean;
      bytesTotal?: number;
      source?: { pool: string; name: string };
    } = {},
  ): VolumeJobHandle {
    this.check(pool, volume);
    if (options.source !== undefined) this.check(options.source.pool, options.source.name, "read");
    if (this.#jobs.size >= VOLUME_JOBS_MAX) {
      throw new VirtError(
        ErrorCode.RESOURCE_BUSY,
        `${VOLUME_JOBS_MAX} volume jobs are running; try again later`,
      );
    }
    const key = `${pool}/${volume}`;
    const job: VolumeJob = {
      name,
      makesVolume: options.makesVolume ?? false,
      sinceMs: Date.now(),
      bytesDone: 0,
      bytesTotal: options.bytesTotal ?? 0,
      cancelled: false,
    };
    const controller = new AbortController();
    this.#jobs.set(key, { job, controller });
    const sourceKey = options.source === undefined
      ? undefined
      : `${options.source.pool}/${options.source.name}`;
    if (sourceKey !== undefined) {
      this.#sources.set(sourceKey, [...(this.#sources.get(sourceKey) ?? []), job]);
    }
    let ended = false;
    return {
      job,
      signal: controller.signal,
      progress: (bytesDone, bytesTotal) => {
        if (bytesTotal !== undefined && bytesTotal > 0) job.bytesTotal = bytesTotal;
        // Progress only grows: a tool that reports a smaller figure late is ignored.
        if (bytesDone > job.bytesDone) job.bytesDone = bytesDone;
      },
      end: () => {
        if (ended) return;
        ended = true;
        this.#jobs.delete(key);
        if (sourceKey === undefined) return;
        const left = (this.#sources.get(sourceKey) ?? []).filter((other) => other !== job);
        if (left.length === 0) this.#sources.delete(sourceKey);
        else this.#sources.set(sourceKey, left);
      },
    };
  }
}
