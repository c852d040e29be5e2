/**
 * What a pool refresh records: only the volumes that changed since the pool's last known set
 * (appeared or differ) and the names of those gone — never the whole listing again, so an
 * unchanged pool of thousands of volumes costs a refresh one small fact.
 *
 * @module
 */

import type { VolumeRecord } from "../model/storage_facts.ts";

/** The difference between the volumes known and the volumes found. */
export interface VolumeChanges {
  /** Volumes that appeared or whose record differs, by name order of the listing. */
  changed: VolumeRecord[];
  /** Names of known volumes no longer there. */
  removed: string[];
}

/**
 * The changes from `known` to `found`.
 *
 * @example
 * ```ts
 * import { volumeChanges } from "./volume_changes.ts";
 * const a = { name: "a", type: "file", path: "/p/a", format: "raw", capacityBytes: 1, allocationBytes: 0 };
 * console.log(volumeChanges({ a }, []).removed); // ["a"]
 * ```
 */
export function volumeChanges(
  known: Readonly<Record<string, VolumeRecord>>,
  found: readonly VolumeRecord[],
): VolumeChanges {
  const changed: VolumeRecord[] = [];
  const seen = new Set<string>();
  for (const record of found) {
    seen.add(record.name);
    const before = known[record.name];
    if (before === undefined || !sameRecord(before, record)) changed.push(record);
  }
  const removed = Object.keys(known).filter((name) => !seen.has(name)).sort();
  return { changed, removed };
}

/** Whether nothing changed. */
export function noVolumeChanges(changes: VolumeChanges): boolean {
  return changes.changed.length === 0 && changes.removed.length === 0;
}

/** Field by field (every field is a string, number or boolean), whatever the key order. */
function sameRecord(a: VolumeRecord, b: VolumeRecord): boolean {
  const left = a as unknown as Record<string, unknown>;
  const right = b as unknown as Record<string, unknown>;
  const keys = Object.keys(left);
  if (keys.length !== Object.keys(right).length) return false;
  return keys.every((key) => left[key] === right[key]);
}
