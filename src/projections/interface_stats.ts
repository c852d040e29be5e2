/**
 * A running domain's interface counters as `virDomainInterfaceStats` / `virsh domifstat` report
 * them (the guest's view), and how an interface named by a user is found.
 *
 * @module
 */

import type { InterfaceSample } from "../../actors/driver_protocol.ts";
import type { DomainDefinition } from "../model/domain.ts";

/**
 * The answer of `GET /v1/domains/{ref}/interfaces/{iface}/stats`: the sampled counters (guest's
 * view) and how old they are.
 */
export interface InterfaceStatsView extends Omit<InterfaceSample, "index"> {
  /** The interface as asked (its host device name or MAC address). */
  interface: string;
  /** How old the samples are, in ms (null: none yet). */
  sampleAgeMs: number | null;
  /** Whether the last sampling failed (the figures are older than an interval). */
  stale: boolean;
  /** Why the samples are stale. */
  staleReason?: string;
}

/**
 * Finds an interface as libvirt does: by its host device name (`<target dev>`, or the name the
 * driver found for it) or by its MAC address, case-insensitively.
 *
 * @param definition The live definition.
 * @param samples The sampled interfaces (they carry the names a driver chose).
 * @param name A device name or a MAC address.
 * @returns The interface's position, or undefined.
 *
 * @example
 * ```ts
 * import { findInterface } from "./interface_stats.ts";
 * import { emptyDevices } from "../model/domain.ts";
 * const devices = emptyDevices();
 * devices.interfaces.push({ type: "ethernet", mac: "52:54:00:00:00:01", target: { dev: "tap7" } });
 * const definition = { type: "test", name: "a", memoryKiB: 1, vcpus: 1, os: { type: "hvm", boot: [] }, devices };
 * console.log(findInterface(definition, [], "tap7"), findInterface(definition, [], "52:54:00:00:00:01"));
 * // 0 0
 * ```
 */
export function findInterface(
  definition: DomainDefinition,
  samples: readonly InterfaceSample[],
  name: string,
): number | undefined {
  const interfaces = definition.devices.interfaces;
  const byDevice = interfaces.findIndex((nic, index) =>
    nic.target?.dev === name || samples.some((each) => each.index === index && each.name === name)
  );
  if (byDevice >= 0) return byDevice;
  const mac = name.toLowerCase();
  const byMac = interfaces.findIndex((nic) => nic.mac?.toLowerCase() === mac);
  return byMac < 0 ? undefined : byMac;
}
