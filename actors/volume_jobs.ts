/**
 * The long jobs volumes are busy with (uploads, downloads): one per volume at a time, and any
 * other volume call on a busy volume is refused at once with libvirt's error (code 55, `volume
 * 'x' is still in use.`), never queued behind it. Jobs on different volumes run in parallel,
 * outside the pool's queue.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../src/model/errors.ts";

/** Volume jobs running at once, service-wide (each holds a file and a connection). */
export const VOLUME_JOBS_MAX = 64;

/** What a volume is busy with. */
export interface VolumeJob {
  /** `vol-upload`, `vol-download`. */
  name: string;
  sinceMs: number;
  /** Bytes moved so far. */
  bytes: number;
}

/** The running volume jobs. */
export class VolumeJobs {
  readonly #jobs = new Map<string, VolumeJob>();

  /**
   * Refuses when the volume is busy.
   *
   * @throws {VirtError} Code 55 with libvirt's message.
   */
  check(pool: string, volume: string): void {
    if (this.#jobs.has(`${pool}/${volume}`)) {
      throw new VirtError(ErrorCode.OPERATION_INVALID, `volume '${volume}' is still in use.`);
    }
  }

  /** The job a volume is busy with, if any. */
  job(pool: string, volume: string): VolumeJob | undefined {
    return this.#jobs.get(`${pool}/${volume}`);
  }

  /**
   * Marks the volume busy with `name` until the returned function is called.
   *
   * @throws {VirtError} Code 55 when it is busy already, 87 when too many jobs run.
   */
  begin(pool: string, volume: string, name: string): { job: VolumeJob; end: () => void } {
    this.check(pool, volume);
    if (this.#jobs.size >= VOLUME_JOBS_MAX) {
      throw new VirtError(
        ErrorCode.RESOURCE_BUSY,
        `${VOLUME_JOBS_MAX} volume transfers are running; try again later`,
      );
    }
    const key = `${pool}/${volume}`;
    const job: VolumeJob = { name, sinceMs: Date.now(), bytes: 0 };
    this.#jobs.set(key, job);
    let ended = false;
    return {
      job,
      end: () => {
        if (ended) return;
        ended = true;
        this.#jobs.delete(key);
      },
    };
  }
}
