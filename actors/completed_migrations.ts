/**
 * The completed migrations a destination keeps for `domjobinfo --completed`
 * (`domain_jobs.ts`).
 *
 * @module
 */

import type { DomainJobStats } from "./driver_protocol.ts";

/** Domains whose completed migrations a host keeps at most (the oldest is forgotten first). */
export const COMPLETED_MIGRATIONS_MAX = 1024;

/**
 * The statistics of the last completed migration of each domain that came here (the
 * source's final figures, as libvirt's destination has them from the source's cookie), for
 * `domjobinfo --completed` until read without `keepCompleted` (libvirt's rule).
 */
export class CompletedMigrations {
  readonly #byUuid = new Map<string, DomainJobStats>();

  /** Keeps `stats` as domain `uuid`'s last completed job. */
  record(uuid: string, stats: DomainJobStats): void {
    this.#byUuid.delete(uuid);
    this.#byUuid.set(uuid, stats);
    if (this.#byUuid.size > COMPLETED_MIGRATIONS_MAX) {
      this.#byUuid.delete(this.#byUuid.keys().next().value!);
    }
  }

  /** Forgets domain `uuid`'s kept statistics (a later job of the domain supersedes them). */
  forget(uuid: string): void {
    this.#byUuid.delete(uuid);
  }

  /** Domain `uuid`'s kept statistics; forgotten unless `keep`. */
  read(uuid: string, keep: boolean): DomainJobStats | undefined {
    const stats = this.#byUuid.get(uuid);
    if (!keep) this.#byUuid.delete(uuid);
    return stats;
  }
}
