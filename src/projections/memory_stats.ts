/**
 * A running domain's memory statistics as `virDomainMemoryStats` / `virsh dommemstat` report
 * them, from the driver's samples: the balloon's current size (`actual`), the guest's own
 * statistics through its balloon driver, then the QEMU process's resident memory (`rss`). All
 * sizes in KiB.
 *
 * @module
 */

import type { InstanceSamples } from "../../actors/driver_protocol.ts";
import type { DomainDefinition } from "../model/domain.ts";

/** The answer of `GET /v1/domains/{ref}/memory/stats`. */
export interface MemoryStatsView {
  /** `[tag, value]` in libvirt's order: `actual`, the guest's statistics, `rss`. */
  stats: Array<[string, number]>;
  /** How old the samples are, in ms (null: none yet). */
  sampleAgeMs: number | null;
  /** Whether the last sampling failed (the figures are older than an interval). */
  stale: boolean;
  /** Why the samples are stale. */
  staleReason?: string;
}

/**
 * The memory statistics of a running domain, with `dommemstat`'s tags, in libvirt's order.
 *
 * @param definition The live definition (whether there is a balloon).
 * @param samples The driver's latest samples.
 * @returns `[tag, KiB or count]` pairs; a figure the driver did not sample is left out.
 *
 * @example
 * ```ts
 * import { memoryStats } from "./memory_stats.ts";
 * import { emptyDevices } from "../model/domain.ts";
 * const devices = emptyDevices();
 * devices.memballoon = { model: "virtio" };
 * const definition = { type: "test", name: "a", memoryKiB: 1048576, vcpus: 1, os: { type: "hvm", boot: [] }, devices };
 * console.log(memoryStats(definition, { takenAtMs: 1, stale: false, balloonKiB: 1048576, rssKiB: 65536 }));
 * // [["actual", 1048576], ["rss", 65536]]
 * ```
 */
export function memoryStats(
  definition: DomainDefinition,
  samples: InstanceSamples,
): Array<[string, number]> {
  const stats: Array<[string, number]> = [];
  const balloon = definition.devices.memballoon;
  if (balloon !== undefined && balloon.model !== "none" && samples.balloonKiB !== undefined) {
    stats.push(["actual", samples.balloonKiB]);
  }
  for (const [tag, value] of samples.guestMemory ?? []) stats.push([tag, value]);
  if (samples.rssKiB !== undefined) stats.push(["rss", samples.rssKiB]);
  return stats;
}
