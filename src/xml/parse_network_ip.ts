/**
 * The addressing parts of network XML, parsed with libvirt 9.0's rules and messages: `<ip>`
 * with its `<dhcp>` ranges, static hosts, bootp and `<tftp>` (virNetworkIPDefParseXML), the
 * range checks of virSocketAddrGetRange, and static `<route>`s (virNetDevIPRouteParseXML).
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";
import {
  effectivePrefix,
  formatIp,
  inNetwork,
  type IpAddress,
  lastOf,
  networkOf,
  parseIp,
  sameIp,
} from "../model/ip_address.ts";
import type {
  DhcpConfig,
  DhcpHost,
  DhcpLease,
  DhcpRange,
  NetworkIp,
  NetworkRoute,
} from "../model/network.ts";
import { isMulticastMac, parseMac } from "../model/mac_address.ts";
import type { XmlElement } from "../model/xml_extra.ts";
import { readAddress, readTristate, readUnsigned } from "./network_xml_values.ts";
import { attributeOf, childrenNamed, firstChild, refuseUnknown } from "./storage_xml_common.ts";

/** An `<ip>` as parsed, with its numeric address and prefix for later checks. */
export interface ParsedIp {
  /** The definition part. */
  ip: NetworkIp;
  /** The address. */
  address: IpAddress;
  /** The prefix libvirt uses for it, undefined when it has none (class D/E IPv4). */
  prefix: number | undefined;
}

/**
 * Parses one `<ip>` of network `networkName`.
 *
 * @throws {VirtError} libvirt's code and message, with where the problem is.
 *
 * @example
 * ```ts
 * import { parseNetworkIp } from "./parse_network_ip.ts";
 * const parsed = parseNetworkIp({ name: "ip", attributes: { address: "10.0.0.1", prefix: "24" } }, "n", "/network/ip");
 * console.log(parsed.prefix); // 24
 * ```
 */
export function parseNetworkIp(element: XmlElement, networkName: string, where: string): ParsedIp {
  refuseUnknown(element, where, ["dhcp", "tftp"], [
    "family",
    "address",
    "netmask",
    "prefix",
    "localPtr",
  ]);
  const family = attributeOf(element, "family");
  const addressText = attributeOf(element, "address");
  if (addressText === undefined) {
    throw new VirtError(
      ErrorCode.XML_ERROR,
      `Missing required address attribute in network '${networkName}'`,
      { where: `${where}/@address` },
    );
  }
  const address = parseIp(addressText);
  if (address === undefined) {
    throw new VirtError(
      ErrorCode.XML_ERROR,
      `Invalid address '${addressText}' in network '${networkName}'`,
      { where: `${where}/@address` },
    );
  }
  const netmaskText = attributeOf(element, "netmask");
  const netmask = netmaskText === undefined ? undefined : parseIp(netmaskText);
  if (netmaskText !== undefined && netmask === undefined) {
    throw new VirtError(
      ErrorCode.XML_ERROR,
      `Invalid netmask '${netmaskText}' in network '${networkName}'`,
      { where: `${where}/@netmask` },
    );
  }
  const prefix = readUnsigned(element, "prefix", where);
  const localPtr = readTristate(element, "localPtr", where);
  checkFamily(family, address, addressText, netmask, netmaskText, prefix, networkName, where);

  const ip: NetworkIp = { address: formatIp(address) };
  if (family === "ipv4" || family === "ipv6") ip.family = family;
  if (netmask !== undefined) ip.netmask = formatIp(netmask);
  if (prefix !== undefined && prefix > 0) ip.prefix = prefix;
  if (localPtr !== undefined) ip.localPtr = localPtr;
  const usedPrefix = effectivePrefix(address, netmask, prefix);
  const dhcp = firstChild(element, "dhcp");
  if (dhcp !== undefined) {
    ip.dhcp = parseDhcp(dhcp, address, usedPrefix, networkName, `${where}/dhcp`);
  }
  const tftp = firstChild(element, "tftp");
  if (tftp !== undefined) {
    refuseUnknown(tftp, `${where}/tftp`, [], ["root"]);
    if (address.family !== "ipv4") {
      throw new VirtError(
        ErrorCode.CONFIG_UNSUPPORTED,
        `Unsupported <tftp> element in an IPv6 element in network '${networkName}'`,
        { where: `${where}/tftp` },
      );
    }
    const root = attributeOf(tftp, "root");
    if (root !== undefined) ip.tftpRoot = root;
  }
  return { ip, address, prefix: usedPrefix };
}

function checkFamily(
  family: string | undefined,
  address: IpAddress,
  addressText: string,
  netmask: IpAddress | undefined,
  netmaskText: string | undefined,
  prefix: number | undefined,
  networkName: string,
  where: string,
): void {
  const fail = (message: string, at = where): never => {
    throw new VirtError(ErrorCode.CONFIG_UNSUPPORTED, message, { where: at });
  };
  if (family === undefined || family === "ipv4") {
    if (address.family !== "ipv4") {
      fail(
        `${
          family ?? "no"
        } family specified for non-IPv4 address '${addressText}' in network '${networkName}'`,
        `${where}/@address`,
      );
    }
    if (netmask !== undefined) {
      if (netmask.family !== "ipv4") {
        fail(
          `Invalid netmask '${netmaskText}' for address '${addressText}' in network '${networkName}' (both must be IPv4)`,
          `${where}/@netmask`,
        );
      }
      if (prefix !== undefined && prefix > 0) {
        fail(`Network '${networkName}' IP address cannot have both a prefix and a netmask`);
      }
    } else if (prefix !== undefined && prefix > 32) {
      fail(`Invalid IPv4 prefix '${prefix}' in network '${networkName}'`, `${where}/@prefix`);
    }
    return;
  }
  if (family === "ipv6") {
    if (address.family !== "ipv6") {
      fail(
        `Family 'ipv6' specified for non-IPv6 address '${addressText}' in network '${networkName}'`,
        `${where}/@address`,
      );
    }
    if (netmask !== undefined) {
      fail(
        `netmask not allowed for IPv6 address '${addressText}' in network '${networkName}'`,
        `${where}/@netmask`,
      );
    }
    if (prefix !== undefined && prefix > 128) {
      fail(`Invalid IPv6 prefix '${prefix}' in network '${networkName}'`, `${where}/@prefix`);
    }
    return;
  }
  throw new VirtError(
    ErrorCode.XML_ERROR,
    `Unrecognized family '${family}' in network '${networkName}'`,
    { where: `${where}/@family` },
  );
}

function parseDhcp(
  element: XmlElement,
  network: IpAddress,
  prefix: number | undefined,
  networkName: string,
  where: string,
): DhcpConfig {
  refuseUnknown(element, where, ["range", "host", "bootp"]);
  const dhcp: DhcpConfig = { ranges: [], hosts: [] };
  childrenNamed(element, "range").forEach((range, index) => {
    dhcp.ranges.push(
      parseRange(range, network, prefix, networkName, `${where}/range[${index + 1}]`),
    );
  });
  childrenNamed(element, "host").forEach((host, index) => {
    dhcp.hosts.push(parseHost(host, network, networkName, `${where}/host[${index + 1}]`));
  });
  const bootp = firstChild(element, "bootp");
  if (bootp !== undefined && network.family === "ipv4") {
    refuseUnknown(bootp, `${where}/bootp`, [], ["file", "server"]);
    const file = attributeOf(bootp, "file");
    if (file === undefined) {
      throw new VirtError(
        ErrorCode.XML_ERROR,
        "Missing required attribute 'file' in element 'bootp'",
        { where: `${where}/bootp` },
      );
    }
    const server = attributeOf(bootp, "server");
    dhcp.bootp = server === undefined
      ? { file }
      : { file, server: formatIp(readAddress(server, `${where}/bootp/@server`)) };
  }
  return dhcp;
}

/**
 * Parses one `<range>` of an `<ip>` whose address is `network` (virNetworkDHCPRangeDefParseXML).
 *
 * @throws {VirtError} Code 27 for a missing bound; 1 for a range outside the network.
 */
export function parseRange(
  element: XmlElement,
  network: IpAddress,
  prefix: number | undefined,
  networkName: string,
  where: string,
): DhcpRange {
  refuseUnknown(element, where, ["lease"], ["start", "end"]);
  const startText = attributeOf(element, "start");
  if (startText === undefined) {
    throw new VirtError(
      ErrorCode.XML_ERROR,
      `Missing 'start' attribute in dhcp range for network '${networkName}'`,
      { where },
    );
  }
  const start = readAddress(startText, `${where}/@start`);
  const endText = attributeOf(element, "end");
  if (endText === undefined) {
    throw new VirtError(
      ErrorCode.XML_ERROR,
      `Missing 'end' attribute in dhcp range for network '${networkName}'`,
      { where },
    );
  }
  const end = readAddress(endText, `${where}/@end`);
  rangeSize(start, end, { address: network, prefix }, where);
  const range: DhcpRange = { start: formatIp(start), end: formatIp(end) };
  const lease = parseLease(firstChild(element, "lease"), `${where}/lease`);
  if (lease !== undefined) range.lease = lease;
  return range;
}

/**
 * The number of addresses from `start` to `end`, both included, with libvirt's checks
 * (virSocketAddrGetRange): same family; when the network is given, inside it and, for IPv4,
 * neither its network nor its broadcast address; not larger than libvirt counts (IPv4 ranges
 * share their first two octets, IPv6 ranges their first 96 bits); not reversed.
 *
 * @throws {VirtError} Code 1 with libvirt's message (libvirt 9.0 reports these as internal errors).
 *
 * @example
 * ```ts
 * import { rangeSize } from "./parse_network_ip.ts";
 * import { parseIp } from "../model/ip_address.ts";
 * console.log(rangeSize(parseIp("192.168.122.2")!, parseIp("192.168.122.254")!)); // 253
 * ```
 */
export function rangeSize(
  start: IpAddress,
  end: IpAddress,
  network?: { address: IpAddress; prefix: number | undefined },
  where = "",
): number {
  const startText = formatIp(start);
  const endText = formatIp(end);
  const fail = (message: string): never => {
    throw new VirtError(ErrorCode.INTERNAL_ERROR, message, { where });
  };
  if (start.family !== end.family) {
    fail(`mismatch of address family in range ${startText} - ${endText}`);
  }
  if (network !== undefined) {
    if (start.family !== network.address.family) {
      fail(
        `mismatch of address family in range ${startText} - ${endText} for network ${
          formatIp(network.address)
        }`,
      );
    }
    const base = network.prefix;
    const netText = `${formatIp(network.address)}/${base ?? -1}`;
    if (base === undefined) {
      throw new VirtError(
        ErrorCode.INTERNAL_ERROR,
        `bad prefix -1 for network ${
          formatIp(network.address)
        } when  checking range ${startText} - ${endText}`,
        { where },
      );
    }
    if (!inNetwork(start, network.address, base) || !inNetwork(end, network.address, base)) {
      fail(`range ${startText} - ${endText} is not entirely within network ${netText}`);
    }
    if (start.family === "ipv4") {
      if (sameIp(start, networkOf(network.address, base))) {
        fail(
          `start of range ${startText} - ${endText} in network ${netText} is the network address`,
        );
      }
      if (sameIp(end, lastOf(network.address, base))) {
        fail(
          `end of range ${startText} - ${endText} in network ${netText} is the broadcast address`,
        );
      }
    }
  }
  const fixedBits = start.family === "ipv4" ? 16n : 32n;
  if ((start.value >> fixedBits) !== (end.value >> fixedBits)) {
    fail(`range ${startText} - ${endText} is too large (> 65535)`);
  }
  const size = end.value - start.value + 1n;
  if (size <= 0n) fail(`range ${startText} - ${endText} is reversed `);
  return Number(size);
}

const ID_CHARACTERS = /^[0-9a-fA-F:]*$/;

/**
 * Parses one DHCP `<host>` of an `<ip>` whose address is `network`
 * (virNetworkDHCPHostDefParseXML). `partial` (a `net-update delete` pattern) lets any of
 * mac, name and ip be left out, as long as one is given.
 *
 * @throws {VirtError} Code 27 with libvirt's messages.
 */
export function parseHost(
  element: XmlElement,
  network: IpAddress,
  networkName: string,
  where: string,
  partial = false,
): DhcpHost {
  refuseUnknown(element, where, ["lease"], ["mac", "id", "name", "ip"]);
  const fail = (message: string): never => {
    throw new VirtError(ErrorCode.XML_ERROR, message, { where });
  };
  const host: DhcpHost = {};
  const mac = element.attributes?.mac;
  if (mac !== undefined) {
    if (network.family === "ipv6") {
      fail(
        `Invalid to specify MAC address '${mac}' in network '${networkName}' IPv6 static host definition`,
      );
    }
    const bytes = parseMac(mac);
    if (bytes === undefined) fail(`Cannot parse MAC address '${mac}' in network '${networkName}'`);
    if (isMulticastMac(bytes as number[])) {
      fail(`expected unicast mac address, found multicast '${mac}' in network '${networkName}'`);
    }
    host.mac = mac;
  }
  const id = element.attributes?.id;
  if (id !== undefined) {
    if (!ID_CHARACTERS.test(id)) {
      const bad = [...id].find((character) => !/[0-9a-fA-F:]/.test(character));
      fail(`Invalid character '${bad}' in id '${id}' of network '${networkName}'`);
    }
    host.id = id;
  }
  const name = element.attributes?.name;
  if (name !== undefined) {
    if (!/^[A-Za-z0-9]/.test(name)) {
      fail(`Cannot use host name '${name}' in network '${networkName}'`);
    }
    host.name = name;
  }
  const ipText = element.attributes?.ip;
  if (ipText !== undefined) {
    const ip = parseIp(ipText);
    if (ip === undefined) {
      fail(`Invalid IP address in static host definition for network '${networkName}'`);
    }
    host.ip = formatIp(ip as IpAddress);
  }
  if (partial) {
    if (host.mac === undefined && host.name === undefined && host.ip === undefined) {
      fail(
        `At least one of name, mac, or ip attribute must be specified for static host definition in network '${networkName}' `,
      );
    }
  } else if (network.family === "ipv6") {
    if (host.id === undefined && host.name === undefined) {
      fail(
        `Static host definition in IPv6 network '${networkName}' must have id or name attribute`,
      );
    }
  } else if (host.mac === undefined && host.name === undefined) {
    fail(`Static host definition in IPv4 network '${networkName}' must have mac or name attribute`);
  }
  if (host.ip === undefined && !partial) {
    fail(`Missing IP address in static host definition for network '${networkName}'`);
  }
  const lease = parseLease(firstChild(element, "lease"), `${where}/lease`);
  if (lease !== undefined) host.lease = lease;
  return host;
}

/** The shortest finite lease dnsmasq accepts, in seconds. */
export const LEASE_MIN_SECONDS = 120;

function parseLease(element: XmlElement | undefined, where: string): DhcpLease | undefined {
  if (element === undefined) return undefined;
  refuseUnknown(element, where, [], ["expiry", "unit"]);
  const expiry = readUnsigned(element, "expiry", where, Number.MAX_SAFE_INTEGER);
  if (expiry === undefined) return undefined;
  const unitText = element.attributes?.unit;
  let unit: DhcpLease["unit"] = "minutes";
  if (unitText !== undefined) {
    if (unitText !== "seconds" && unitText !== "minutes" && unitText !== "hours") {
      throw new VirtError(
        ErrorCode.XML_ERROR,
        `Invalid value for attribute 'unit' in element 'lease': '${unitText}'.`,
        { where: `${where}/@unit` },
      );
    }
    unit = unitText;
  }
  if (
    expiry > 0 &&
    ((unit === "seconds" && expiry < LEASE_MIN_SECONDS) || (unit === "minutes" && expiry < 2))
  ) {
    throw new VirtError(
      ErrorCode.CONFIG_UNSUPPORTED,
      "The minimum lease time should be greater than 2 minutes",
      { where },
    );
  }
  return { expiry, unit };
}

/**
 * Parses one `<route>` of network `networkName`.
 *
 * @throws {VirtError} Code 27 with libvirt's message (which starts with the network name).
 */
export function parseNetworkRoute(
  element: XmlElement,
  networkName: string,
  where: string,
): { route: NetworkRoute; gateway: IpAddress } {
  refuseUnknown(element, where, [], [
    "family",
    "address",
    "netmask",
    "prefix",
    "gateway",
    "metric",
  ]);
  const fail = (message: string, at = where): never => {
    throw new VirtError(ErrorCode.XML_ERROR, `${networkName}: ${message}`, { where: at });
  };
  const family = attributeOf(element, "family");
  const addressText = attributeOf(element, "address");
  const netmaskText = attributeOf(element, "netmask");
  const gatewayText = attributeOf(element, "gateway");
  const prefix = readRouteNumber(element, "prefix");
  if (prefix === null) fail("Invalid prefix specified in route definition", `${where}/@prefix`);
  const metric = readRouteNumber(element, "metric");
  if (metric === null) fail("Invalid metric specified in route definition", `${where}/@metric`);
  if (metric === 0) {
    fail("Invalid metric value, must be > 0 in route definition", `${where}/@metric`);
  }
  if (addressText === undefined) fail("Missing required address attribute in route definition");
  if (gatewayText === undefined) fail("Missing required gateway attribute in route definition");
  const address = parseIp(addressText as string);
  if (address === undefined) {
    fail(`Bad network address '${addressText}' in route definition`, `${where}/@address`);
  }
  const gateway = parseIp(gatewayText as string);
  if (gateway === undefined) {
    fail(`Bad gateway address '${gatewayText}' in route definition`, `${where}/@gateway`);
  }
  const destination = address as IpAddress;
  const hop = gateway as IpAddress;
  let netmask: IpAddress | undefined;
  if (family === undefined || family === "ipv4") {
    const named = family === undefined ? "No family" : "IPv4 family";
    if (destination.family !== "ipv4") {
      fail(`${named} specified for non-IPv4 address '${addressText}' in route definition`);
    }
    if (hop.family !== "ipv4") {
      fail(`${named} specified for non-IPv4 gateway '${addressText}' in route definition`);
    }
    if (netmaskText !== undefined) {
      netmask = parseIp(netmaskText);
      if (netmask === undefined) {
        fail(`Bad netmask address '${netmaskText}' in route definition`, `${where}/@netmask`);
      }
      if ((netmask as IpAddress).family !== "ipv4") {
        fail(
          `Invalid netmask '${netmaskText}' for address '${addressText}' (both must be IPv4)`,
          `${where}/@netmask`,
        );
      }
      if (prefix !== undefined) fail("Route definition cannot have both a prefix and a netmask");
    }
    if ((prefix ?? 0) > 32) {
      fail(`Invalid prefix ${prefix} specified in route definition, must be 0 - 32`);
    }
  } else if (family === "ipv6") {
    if (destination.family !== "ipv6") {
      fail(`ipv6 family specified for non-IPv6 address '${addressText}' in route definition`);
    }
    if (netmaskText !== undefined) {
      fail(`Specifying netmask invalid for IPv6 address '${addressText}' in route definition`);
    }
    if (hop.family !== "ipv6") {
      fail(`ipv6 specified for non-IPv6 gateway address '${gatewayText}' in route definition`);
    }
    if ((prefix ?? 0) > 128) {
      fail(`Invalid prefix ${prefix} specified in route definition, must be 0 - 128`);
    }
  } else {
    fail(`Unrecognized family '${family}' in route definition`, `${where}/@family`);
  }
  const mask = netmask === undefined ? undefined : netmask.value;
  const networkValue = mask === undefined
    ? networkOf(destination, prefix ?? 0).value
    : destination.value & mask;
  if (networkValue !== destination.value) {
    fail(`Address '${addressText}' in route definition is not a network address`);
  }
  const route: NetworkRoute = { address: formatIp(destination), gateway: formatIp(hop) };
  if (family === "ipv4" || family === "ipv6") route.family = family;
  if (netmask !== undefined) route.netmask = formatIp(netmask);
  if (typeof prefix === "number") route.prefix = prefix;
  if (typeof metric === "number") route.metric = metric;
  return { route, gateway: hop };
}

/** An unsigned long attribute: undefined when absent or empty, null when malformed. */
function readRouteNumber(element: XmlElement, name: string): number | undefined | null {
  const text = attributeOf(element, name);
  if (text === undefined) return undefined;
  const value = /^\s*\+?\d+$/.test(text) ? Number(text.trim()) : NaN;
  return Number.isSafeInteger(value) ? value : null;
}
