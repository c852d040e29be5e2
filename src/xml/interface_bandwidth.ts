/**
 * A domain interface's `<bandwidth>` (kept verbatim in the interface's `extra`), read with
 * libvirt's rules (virNetDevBandwidthParse; `floor` only on an interface of type `network`),
 * and replaced by the bandwidth its network port got (a portgroup's), for the driver that
 * shapes the tap.
 *
 * @module
 */

import type { NetInterface, XmlElement } from "../model/domain.ts";
import type { Bandwidth } from "../model/network.ts";
import { parseBandwidth } from "./parse_port_options.ts";

/**
 * The interface's `<bandwidth>`, or undefined when it has none (or an empty one).
 *
 * @param where The interface's path, for errors (`/domain/devices/interface[1]`).
 * @param allowFloor Whether a `floor` is taken (libvirt: on a `network` interface; and in
 *   whatever `domiftune --config` wrote).
 * @throws {VirtError} libvirt's codes and messages for a bad `<bandwidth>` (27, 35).
 *
 * @example
 * ```ts
 * import { interfaceBandwidthOf } from "./interface_bandwidth.ts";
 * const nic = {
 *   type: "network",
 *   extra: { elements: [{ element: { name: "bandwidth", children: [{ name: "inbound", attributes: { average: "100" } }] } }] },
 * };
 * console.log(interfaceBandwidthOf(nic, "/domain/devices/interface[1]")); // { inbound: { average: 100 } }
 * ```
 */
export function interfaceBandwidthOf(
  nic: NetInterface,
  where: string,
  allowFloor = nic.type === "network",
): Bandwidth | undefined {
  const element = bandwidthElementOf(nic);
  if (element === undefined) return undefined;
  return parseBandwidth(element, `${where}/bandwidth`, allowFloor);
}

/** The interface's `<bandwidth>` element as written, or undefined. */
export function bandwidthElementOf(nic: NetInterface): XmlElement | undefined {
  return nic.extra?.elements?.find((placed) => placed.element.name === "bandwidth")?.element;
}

/**
 * The interface with `bandwidth` in place of its own `<bandwidth>` (removed when undefined).
 *
 * @example
 * ```ts
 * import { withInterfaceBandwidth } from "./interface_bandwidth.ts";
 * const nic = withInterfaceBandwidth({ type: "network" }, { outbound: { average: 10 } });
 * console.log(nic.extra?.elements?.[0].element.name); // "bandwidth"
 * ```
 */
export function withInterfaceBandwidth(
  nic: NetInterface,
  bandwidth: Bandwidth | undefined,
): NetInterface {
  const elements = nic.extra?.elements ?? [];
  const index = elements.findIndex((placed) => placed.element.name === "bandwidth");
  const kept = elements.filter((_, at) => at !== index);
  if (bandwidth !== undefined) {
    const placed = {
      ...(index >= 0 ? elements[index] : {}),
      element: bandwidthElement(bandwidth),
    };
    kept.splice(index >= 0 ? index : kept.length, 0, placed);
  }
  const { elements: _old, ...extra } = nic.extra ?? {};
  const withElements = kept.length === 0 ? extra : { ...extra, elements: kept };
  const { extra: _extra, ...rest } = nic;
  return Object.keys(withElements).length === 0 ? rest : { ...rest, extra: withElements };
}

/** `<bandwidth>` as an element, attributes in libvirt's order. */
function bandwidthElement(bandwidth: Bandwidth): XmlElement {
  const children: XmlElement[] = [];
  for (const direction of ["inbound", "outbound"] as const) {
    const rate = bandwidth[direction];
    if (rate === undefined) continue;
    const attributes: Record<string, string> = {};
    for (const field of ["average", "peak", "floor", "burst"] as const) {
      const value = rate[field];
      if (value !== undefined) attributes[field] = String(value);
    }
    children.push({ name: direction, attributes });
  }
  return children.length === 0 ? { name: "bandwidth" } : { name: "bandwidth", children };
}
