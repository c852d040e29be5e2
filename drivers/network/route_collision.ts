/**
 * The check libvirt 9.0 makes before it starts a network with a bridge of its own
 * (networkCheckRouteCollision): none of the network's IPv4 networks, and none of its static
 * IPv4 routes, may already be routed on the host (the same network and mask in the kernel's
 * routing table). The table comes in as the text of `/proc/net/route`, so the check is pure.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import {
  effectivePrefix,
  formatIp,
  type IpAddress,
  netmaskOfPrefix,
  parseIp,
} from "../../src/model/ip_address.ts";
import type { NetworkDefinition } from "../../src/model/network.ts";

/** Most routing table lines read (libvirt reads up to 100000 routes). */
export const ROUTE_LINES_MAX = 100_000;

/** One IPv4 route of the host's table: its interface, destination and mask. */
export interface HostRoute {
  /** The interface the route goes through. */
  iface: string;
  /** Destination network, as a 32-bit number in address order (masked). */
  destination: bigint;
  /** Netmask, as a 32-bit number in address order. */
  mask: bigint;
}

/** `/proc/net/route` writes each address as the hex of its bytes read little-endian. */
function fromProcHex(text: string): bigint | undefined {
  if (!/^[0-9A-Fa-f]{1,8}$/.test(text)) return undefined;
  const value = parseInt(text, 16);
  const bytes = [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, value >>> 24];
  return bytes.reduce((sum, byte) => (sum << 8n) | BigInt(byte), 0n);
}

/**
 * Reads the IPv4 routes of `/proc/net/route` (libvirt skips lines it cannot read; so does this).
 *
 * @param text The file's text.
 * @returns The routes, destinations masked; none when the text is not such a table.
 *
 * @example
 * ```ts
 * import { parseProcNetRoute } from "./route_collision.ts";
 * const table = "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n" +
 *   "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\n";
 * console.log(parseProcNetRoute(table)[0].iface); // "eth0"
 * ```
 */
export function parseProcNetRoute(text: string): HostRoute[] {
  if (!text.startsWith("Iface")) return [];
  const routes: HostRoute[] = [];
  const lines = text.split("\n").slice(1, ROUTE_LINES_MAX + 1);
  for (const line of lines) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 8) continue;
    const destination = fromProcHex(fields[1]);
    const mask = fromProcHex(fields[7]);
    if (destination === undefined || mask === undefined) continue;
    routes.push({ iface: fields[0].slice(0, 16), destination: destination & mask, mask });
  }
  return routes;
}

/**
 * Refuses to start a network whose IPv4 network or static IPv4 route the host already routes.
 *
 * @param definition The network to start.
 * @param routes The host's routes ({@linkcode parseProcNetRoute}).
 * @throws {VirtError} Code 1 `Network is already in use by interface …` or `Route address '…'
 *   conflicts with IP address for '…'`, as libvirt.
 *
 * @example
 * ```ts
 * import { checkRouteCollision } from "./route_collision.ts";
 * try {
 *   checkRouteCollision(
 *     { ips: [{ address: "192.0.2.1", prefix: 24 }], routes: [] },
 *     [{ iface: "eth0", destination: 0xc0000200n, mask: 0xffffff00n }],
 *   );
 * } catch (error) {
 *   console.log((error as Error).message); // "Network is already in use by interface eth0"
 * }
 * ```
 */
export function checkRouteCollision(
  definition: Pick<NetworkDefinition, "ips" | "routes">,
  routes: readonly HostRoute[],
): void {
  const networks: { destination: bigint; mask: bigint }[] = [];
  for (const ip of definition.ips) {
    const address = parseIp(ip.address) as IpAddress;
    if (address.family !== "ipv4") continue;
    const netmask = ip.netmask === undefined ? undefined : parseIp(ip.netmask);
    const prefix = effectivePrefix(address, netmask, ip.prefix);
    if (prefix === undefined) continue;
    const mask = netmaskOfPrefix("ipv4", prefix);
    networks.push({ destination: address.value & mask, mask });
  }
  const staticRoutes: { destination: bigint; mask: bigint }[] = [];
  for (const route of definition.routes) {
    const address = parseIp(route.address) as IpAddress;
    if (address.family !== "ipv4") continue;
    const netmask = route.netmask === undefined ? undefined : parseIp(route.netmask);
    const mask = netmask?.value ?? netmaskOfPrefix("ipv4", route.prefix ?? 0);
    staticRoutes.push({ destination: address.value & mask, mask });
  }
  for (const host of routes) {
    const same = (network: { destination: bigint; mask: bigint }) =>
      network.destination === host.destination && network.mask === host.mask;
    if (networks.some(same)) {
      throw new VirtError(
        ErrorCode.INTERNAL_ERROR,
        `Network is already in use by interface ${host.iface}`,
        { where: "/network/ip" },
      );
    }
    const route = staticRoutes.find(same);
    if (route !== undefined) {
      const shown = formatIp({ family: "ipv4", value: route.destination });
      throw new VirtError(
        ErrorCode.INTERNAL_ERROR,
        `Route address '${shown}' conflicts with IP address for '${host.iface}'`,
        { where: "/network/route" },
      );
    }
  }
}
