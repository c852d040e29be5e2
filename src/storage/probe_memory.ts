/**
 * What a worker thread remembers of the volumes it probed, so the next scan of an unchanged file
 * costs one stat instead of a stat, an open, a read and a close. A remembered probe is reused
 * only when the file's stamp (device, inode, size, blocks, mode, owner, mtime, ctime) is the same
 * and its ctime lies more than {@linkcode PROBE_SETTLED_MS} before the scan began: a file
 * changed within the clock's resolution of the last probe is read again, as git treats its
 * "racily clean" entries.
 *
 * Bounded: at most {@linkcode PROBE_MEMORY_DIRS_MAX} directories; a scan keeps only the entries
 * it saw, so one directory holds at most its listing (itself bounded by `POOL_VOLUMES_MAX`).
 *
 * @module
 */

import type { EntryStat, ProbedVolume } from "./volume_probe.ts";

/** How long before a scan a file's last change must lie for its remembered probe to be reused. */
export const PROBE_SETTLED_MS = 2_000;

/** Directories remembered; the least recently scanned is forgotten first. */
export const PROBE_MEMORY_DIRS_MAX = 16;

/** A file's identity, size, ownership and last changes, as one string. */
export function probeStamp(stat: EntryStat): string {
  return [stat.identity, stat.sizeBytes, stat.blocks, stat.mode, stat.uid, stat.gid, stat.times]
    .join(":");
}

/** One directory's probes during a scan: reads the last scan's, keeps this one's. */
export interface ScanMemory {
  /** The probe remembered for `name` with this stat, when it can be reused. */
  recall(name: string, stat: EntryStat): ProbedVolume | undefined;
  /** Keeps the probe of `name` made with this stat. */
  keep(name: string, stat: EntryStat, probed: ProbedVolume | undefined): void;
}

interface Remembered {
  stamp: string;
  probed: ProbedVolume | undefined;
}

/**
 * The probes of recent scans, by directory.
 *
 * @example
 * ```ts ignore
 * const memory = new ProbeMemory();
 * const scan = memory.begin("/var/lib/images", Date.now());
 * // … probeVolumeSync(dir, name, scan) for each entry …
 * memory.end("/var/lib/images", scan);
 * ```
 */
export class ProbeMemory {
  readonly #dirs = new Map<string, Map<string, Remembered>>();

  /** Starts a scan of `dir` begun at `startedMs` (wall clock). */
  begin(dir: string, startedMs: number): ScanMemory & { seen: Map<string, Remembered> } {
    const last = this.#dirs.get(dir) ?? new Map<string, Remembered>();
    const seen = new Map<string, Remembered>();
    return {
      seen,
      recall(name, stat) {
        const remembered = last.get(name);
        if (remembered === undefined) return undefined;
        if (stat.changedMs > startedMs - PROBE_SETTLED_MS) return undefined;
        return remembered.stamp === probeStamp(stat) ? remembered.probed : undefined;
      },
      keep(name, stat, probed) {
        seen.set(name, { stamp: probeStamp(stat), probed });
      },
    };
  }

  /** Ends a scan: its probes replace the directory's (entries not seen are forgotten). */
  end(dir: string, scan: { seen: Map<string, Remembered> }): void {
    this.#dirs.delete(dir);
    this.#dirs.set(dir, scan.seen);
    while (this.#dirs.size > PROBE_MEMORY_DIRS_MAX) {
      this.#dirs.delete(this.#dirs.keys().next().value!);
    }
  }

  /** Forgets `dir` (a failed scan). */
  forget(dir: string): void {
    this.#dirs.delete(dir);
  }
}
