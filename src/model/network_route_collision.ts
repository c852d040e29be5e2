/**
 * libvirt's check at network start that no host route already covers one of the network's
 * IPv4 subnets (`/proc/net/route`): a subnet reachable through another interface — another
 * running network's bridge included — is in use, and the start is refused.
 *
 * @module
 */

import { effectivePrefix, netmaskOfPrefix, networkOf, parseIp } from "./ip_address.ts";
import type { NetworkDefinition } from "./network.ts";

/** Most route lines read (a host with more routes than this is checked on the first ones). */
export const ROUTE_LINES_MAX = 100_000;

/** A `/proc/net/route` field (host-order hex of network-order bytes) as an IPv4 number. */
function routeValue(hex: string): bigint | undefined {
  if (!/^[0-9A-Fa-f]{8}$/.test(hex)) return undefined;
  const raw = Number.parseInt(hex, 16);
  // The kernel prints the address as a little-endian word: its first byte is the lowest.
  const bytes = [raw & 0xff, (raw >>> 8) & 0xff, (raw >>> 16) & 0xff, raw >>> 24];
  return BigInt(((bytes[0] << 24) >>> 0) + (bytes[1] << 16) + (bytes[2] << 8) + bytes[3]);
}

/**
 * The interface of a host route whose destination and mask equal one of the network's IPv4
 * subnets, or undefined when none does.
 *
 * @param definition The network.
 * @param routeTable The text of `/proc/net/route`.
 *
 * @example
 * ```ts
 * import { routeCollision } from "./network_route_collision.ts";
 * const table = "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n" +
 *   "eth0\t000AA8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\n";
 * console.log(routeCollision({ ips: [{ address: "192.168.10.1", prefix: 24 }] }, table)); // "eth0"
 * ```
 */
export function routeCollision(
  definition: Pick<NetworkDefinition, "ips">,
  routeTable: string,
): string | undefined {
  const subnets = definition.ips.flatMap((ip) => {
    const address = parseIp(ip.address);
    if (address === undefined || address.family !== "ipv4") return [];
    const netmask = ip.netmask === undefined ? undefined : parseIp(ip.netmask);
    const prefix = effectivePrefix(address, netmask, ip.prefix);
    if (prefix === undefined) return [];
    return [{ network: networkOf(address, prefix).value, mask: netmaskOfPrefix("ipv4", prefix) }];
  });
  if (subnets.length === 0) return undefined;
  const lines = routeTable.split("\n").slice(1, ROUTE_LINES_MAX + 1);
  for (const line of lines) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 8) continue;
    const destination = routeValue(fields[1]);
    const mask = routeValue(fields[7]);
    if (destination === undefined || mask === undefined) continue;
    const masked = destination & mask;
    if (subnets.some((subnet) => subnet.network === masked && subnet.mask === mask)) {
      return fields[0];
    }
  }
  return undefined;
}
