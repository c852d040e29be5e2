/**
 * A running domain's block I/O counters as `virDomainBlockStatsFlags` / `virsh domblkstat`
 * report them, from the driver's sampled block figures: one disk's, or (no disk named) the sum over
 * every disk with a medium. Field names are libvirt's typed parameters, in virsh's order.
 *
 * @module
 */

import type { BlockSample } from "../../actors/driver_protocol.ts";
import { assertNoFault, type BlockCounters } from "../storage/block_figures.ts";
import { ErrorCode, VirtError } from "../model/errors.ts";

/** The answer of `GET /v1/domains/{ref}/blocks/{disk}/stats` (and `/blocks/stats`). */
export interface BlockStatsView {
  /** The disk as asked (its target or path), or `""` for the sum over every disk. */
  device: string;
  /** `[field, value]`: `rd_operations`, `rd_bytes`, `wr_operations`, `wr_bytes`, `errs`, `flush_operations`, `rd_total_times`, `wr_total_times`, `flush_total_times`. */
  stats: Array<[string, number]>;
  /** How old the samples are, in ms (null: none yet). */
  sampleAgeMs: number | null;
  /** Whether the last sampling failed (the figures are older than an interval). */
  stale: boolean;
  /** Why the samples are stale. */
  staleReason?: string;
}

/** libvirt's field names (`VIR_DOMAIN_BLOCK_STATS_*`) in virsh's order, and where each comes from. */
const FIELDS: ReadonlyArray<[string, keyof BlockCounters]> = [
  ["rd_operations", "readRequests"],
  ["rd_bytes", "readBytes"],
  ["wr_operations", "writeRequests"],
  ["wr_bytes", "writeBytes"],
  ["errs", "errors"],
  ["flush_operations", "flushRequests"],
  ["rd_total_times", "readTimeNs"],
  ["wr_total_times", "writeTimeNs"],
  ["flush_total_times", "flushTimeNs"],
];

/**
 * The I/O counters of one disk (by position), or summed over every disk with statistics.
 *
 * @param block The sampled block figures.
 * @param index The disk's position; undefined for the sum.
 * @returns `[field, value]` pairs; a counter the driver did not report is left out.
 * @throws {VirtError} INTERNAL_ERROR when the driver has no statistics for the named disk (an
 *   empty drive) or could not read them.
 *
 * @example
 * ```ts ignore
 * blockStats(samples.block, 0); // [["rd_operations", 120], ["rd_bytes", 491520], …]
 * ```
 */
export function blockStats(block: BlockSample, index: number | undefined): Array<[string, number]> {
  const disks = index === undefined ? block.disks : [block.disks[index]];
  const counters: BlockCounters[] = [];
  for (const disk of disks) {
    if (disk === undefined) continue;
    assertNoFault(disk);
    if (!disk.reported) {
      if (index === undefined) continue;
      throw new VirtError(
        ErrorCode.INTERNAL_ERROR,
        `cannot find statistics for device '${disk.target}'`,
        { where: disk.target },
      );
    }
    counters.push(disk.counters);
  }
  const stats: Array<[string, number]> = [];
  for (const [field, name] of FIELDS) {
    if (counters.length === 0 || counters.some((each) => each[name] === undefined)) continue;
    stats.push([field, counters.reduce((sum, each) => sum + each[name]!, 0)]);
  }
  return stats;
}
