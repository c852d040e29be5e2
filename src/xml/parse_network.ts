/**
 * Network XML (`<network>…</network>`) → {@linkcode NetworkDefinition}, with libvirt 9.0's
 * parse-time rules (virNetworkDefParseXML): the name, UUID, bridge, MAC and MTU, DNS records,
 * addresses and DHCP, routes and their gateways, the forward mode and its devices, portgroups,
 * the checks that tie them to the forward mode, and `<dnsmasq:options>`; with its error codes
 * and messages and where the problem is.
 *
 * Elements and attributes evirt does not know are refused with code 67 and their path, never
 * dropped silently. Define-time completion and checks (bridge name, MAC, the driver's checks)
 * are {@linkcode completeNetworkDefinition}'s, in src/model/network_defaults.ts.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";
import { inNetwork } from "../model/ip_address.ts";
import {
  DNSMASQ_NAMESPACE_URI,
  type ForwardMode,
  type NetworkBridge,
  type NetworkDefinition,
  type NetworkDomain,
  type NetworkForward,
  type PortGroup,
} from "../model/network.ts";
import type { XmlElement } from "../model/xml_extra.ts";
import { parseNetworkDns } from "./parse_network_dns.ts";
import { parseForward } from "./parse_network_forward.ts";
import { type ParsedIp, parseNetworkIp, parseNetworkRoute } from "./parse_network_ip.ts";
import { parseBandwidth, parseVirtualPort, parseVlan } from "./parse_port_options.ts";
import { formatMac, isMulticastMac, parseMac } from "../model/mac_address.ts";
import { readTristate } from "./network_xml_values.ts";
import {
  attributeOf,
  childrenNamed,
  childText,
  elementsOf,
  firstChild,
  parseUuid,
  refuseUnknown,
} from "./storage_xml_common.ts";
import { readXml, type XmlReadOptions } from "./xml_reader.ts";

const NETWORK_CHILDREN = [
  "name",
  "uuid",
  "metadata",
  "forward",
  "bridge",
  "mtu",
  "mac",
  "domain",
  "dns",
  "vlan",
  "bandwidth",
  "port",
  "ip",
  "route",
  "virtualport",
  "portgroup",
];

/**
 * Parses network XML.
 *
 * @param text The document.
 * @param options Reader limits.
 * @returns The definition; a network without `<uuid>` gets a new random one, as in libvirt.
 * @throws {VirtError} libvirt's code and message, with where the problem is.
 *
 * @example
 * ```ts
 * import { parseNetworkXml } from "./parse_network.ts";
 * const network = parseNetworkXml("<network><name>n</name><forward mode='nat'/><ip address='10.0.0.1' prefix='24'/></network>");
 * console.log(network.forward?.mode, network.ips[0].prefix); // "nat" 24
 * ```
 */
export function parseNetworkXml(text: string, options: XmlReadOptions = {}): NetworkDefinition {
  return parseNetworkElement(readXml(text, options));
}

/**
 * Parses a `<network>` element already read.
 *
 * @throws {VirtError} As {@linkcode parseNetworkXml}.
 */
export function parseNetworkElement(root: XmlElement): NetworkDefinition {
  if (root.name !== "network") {
    throw new VirtError(
      ErrorCode.XML_ERROR,
      `unexpected root element <${root.name}>, expecting <network>`,
      { where: `/${root.name}` },
    );
  }
  const dnsmasqPrefix = namespacePrefix(root);
  const dnsmasqChild = dnsmasqPrefix === undefined ? [] : [`${dnsmasqPrefix}:options`];
  // `connections` is a live count libvirt writes in the active XML and ignores on input, so an
  // active dump can be defined again.
  refuseUnknown(root, "/network", [...NETWORK_CHILDREN, ...dnsmasqChild], [
    "ipv6",
    "trustGuestRxFilters",
    "connections",
  ]);
  const name = childText(root, "name");
  if (name === undefined) {
    throw new VirtError(ErrorCode.NO_NAME, "missing name information", { where: "/network/name" });
  }
  if (name.includes("/")) {
    throw new VirtError(ErrorCode.XML_DETAIL, "invalid char in name: /", {
      where: "/network/name",
    });
  }
  const uuidText = childText(root, "uuid");
  let uuid: string;
  try {
    uuid = uuidText === undefined ? crypto.randomUUID() : parseUuid(uuidText, "/network/uuid");
  } catch (error) {
    if (!(error instanceof VirtError)) throw error;
    throw new VirtError(ErrorCode.INTERNAL_ERROR, "malformed uuid element", {
      where: "/network/uuid",
    });
  }
  const definition: NetworkDefinition = {
    name,
    uuid,
    bridge: { stp: true, delay: 0 },
    dns: { forwarders: [], txts: [], srvs: [], hosts: [] },
    ips: [],
    routes: [],
    portGroups: [],
  };
  readHeader(root, definition);
  const bridgeElement = firstChild(root, "bridge");
  definition.bridge = parseBridge(bridgeElement, name);
  readMacAndMtu(root, definition);
  const dns = firstChild(root, "dns");
  if (dns !== undefined) definition.dns = parseNetworkDns(dns, name, "/network/dns");
  const virtualPort = firstChild(root, "virtualport");
  if (virtualPort !== undefined) {
    definition.virtualPort = parseVirtualPort(virtualPort, "/network/virtualport", true);
  }
  definition.portGroups = childrenNamed(root, "portgroup").map((group, index) =>
    parsePortGroup(group, `/network/portgroup[${index + 1}]`)
  );
  const ips: ParsedIp[] = childrenNamed(root, "ip").map((ip, index) =>
    parseNetworkIp(ip, name, `/network/ip[${index + 1}]`)
  );
  definition.ips = ips.map((parsed) => parsed.ip);
  readRoutes(root, name, ips, definition);
  const forward = firstChild(root, "forward");
  if (forward !== undefined) definition.forward = parseForward(forward, name, "/network/forward");
  checkAgainstMode(definition, bridgeElement);
  readMetadata(root, definition);
  const options = readDnsmasqOptions(root, dnsmasqPrefix);
  if (options !== undefined) definition.dnsmasqOptions = options;
  return definition;
}

function readHeader(root: XmlElement, definition: NetworkDefinition): void {
  const ipv6 = attributeOf(root, "ipv6");
  if (ipv6 !== undefined) {
    if (ipv6 !== "yes" && ipv6 !== "no") {
      throw new VirtError(
        ErrorCode.XML_ERROR,
        `Invalid ipv6 setting '${ipv6}' in network '${definition.name}'`,
        { where: "/network/@ipv6" },
      );
    }
    if (ipv6 === "yes") definition.ipv6 = true;
  }
  const trust = readTristate(root, "trustGuestRxFilters", "/network");
  if (trust !== undefined) definition.trustGuestRxFilters = trust;
  const domain = parseDomain(firstChild(root, "domain"));
  if (domain !== undefined) definition.domain = domain;
  const bandwidth = firstChild(root, "bandwidth");
  if (bandwidth !== undefined) {
    const parsed = parseBandwidth(bandwidth, "/network/bandwidth", false);
    if (parsed !== undefined) definition.bandwidth = parsed;
  }
  const vlan = firstChild(root, "vlan");
  if (vlan !== undefined) definition.vlan = parseVlan(vlan, "/network/vlan");
  const port = firstChild(root, "port");
  if (port !== undefined) {
    refuseUnknown(port, "/network/port", [], ["isolated"]);
    const isolated = readTristate(port, "isolated", "/network/port");
    if (isolated !== undefined) definition.isolatedPort = isolated;
  }
}

function parseDomain(element: XmlElement | undefined): NetworkDomain | undefined {
  if (element === undefined) return undefined;
  const where = "/network/domain";
  refuseUnknown(element, where, [], ["name", "localOnly"]);
  const localOnly = readTristate(element, "localOnly", where);
  const name = element.attributes?.name;
  if (name === undefined) return undefined;
  const domain: NetworkDomain = { name };
  if (localOnly !== undefined) domain.localOnly = localOnly;
  return domain;
}

function parseBridge(element: XmlElement | undefined, networkName: string): NetworkBridge {
  const bridge: NetworkBridge = { stp: true, delay: 0 };
  if (element === undefined) return bridge;
  const where = "/network/bridge";
  refuseUnknown(element, where, [], ["name", "zone", "stp", "delay", "macTableManager"]);
  const name = attributeOf(element, "name");
  if (name !== undefined) bridge.name = name;
  const zone = attributeOf(element, "zone");
  if (zone !== undefined) bridge.zone = zone;
  bridge.stp = attributeOf(element, "stp") !== "off";
  const delay = attributeOf(element, "delay");
  if (delay !== undefined) {
    const value = /^\s*\+?\d+$/.test(delay) ? Number(delay.trim()) : NaN;
    if (!Number.isSafeInteger(value)) {
      throw new VirtError(ErrorCode.XML_ERROR, `Invalid delay value in network '${networkName}'`, {
        where: `${where}/@delay`,
      });
    }
    bridge.delay = value;
  }
  const manager = attributeOf(element, "macTableManager");
  if (manager !== undefined) {
    if (manager !== "kernel" && manager !== "libvirt") {
      throw new VirtError(
        ErrorCode.XML_ERROR,
        `Invalid macTableManager setting '${manager}' in network '${networkName}'`,
        { where: `${where}/@macTableManager` },
      );
    }
    bridge.macTableManager = manager;
  }
  return bridge;
}

function readMacAndMtu(root: XmlElement, definition: NetworkDefinition): void {
  const macElement = firstChild(root, "mac");
  if (macElement !== undefined) refuseUnknown(macElement, "/network/mac", [], ["address"]);
  const mac = attributeOf(macElement, "address");
  if (mac !== undefined) {
    const bytes = parseMac(mac);
    if (bytes === undefined) {
      throw new VirtError(
        ErrorCode.XML_ERROR,
        `Invalid bridge mac address '${mac}' in network '${definition.name}'`,
        { where: "/network/mac/@address" },
      );
    }
    if (isMulticastMac(bytes)) {
      throw new VirtError(
        ErrorCode.XML_ERROR,
        `Invalid multicast bridge mac address '${mac}' in network '${definition.name}'`,
        { where: "/network/mac/@address" },
      );
    }
    definition.mac = formatMac(bytes);
  }
  const mtuElement = firstChild(root, "mtu");
  if (mtuElement !== undefined) refuseUnknown(mtuElement, "/network/mtu", [], ["size"]);
  const mtu = attributeOf(mtuElement, "size");
  if (mtu !== undefined) {
    const value = /^\s*\+?\d+$/.test(mtu) ? Number(mtu.trim()) : NaN;
    if (!Number.isSafeInteger(value) || value > 2 ** 32 - 1) {
      throw new VirtError(
        ErrorCode.XML_ERROR,
        `Invalid mtu size '${mtu}' in network '${definition.name}'`,
        { where: "/network/mtu/@size" },
      );
    }
    if (value > 0) definition.mtu = value;
  }
}

/**
 * Parses a `<portgroup>` (virNetworkPortGroupParseXML).
 *
 * @throws {VirtError} Code 27 without a name; its options' errors.
 */
export function parsePortGroup(element: XmlElement, where: string): PortGroup {
  refuseUnknown(element, where, ["virtualport", "bandwidth", "vlan"], [
    "name",
    "default",
    "trustGuestRxFilters",
  ]);
  const name = attributeOf(element, "name");
  if (name === undefined) {
    throw new VirtError(ErrorCode.XML_ERROR, "Missing required name attribute in portgroup", {
      where,
    });
  }
  const group: PortGroup = {
    name,
    isDefault: (attributeOf(element, "default") ?? "").toLowerCase() === "yes",
  };
  const trust = readTristate(element, "trustGuestRxFilters", where);
  if (trust !== undefined) group.trustGuestRxFilters = trust;
  const virtualPort = firstChild(element, "virtualport");
  if (virtualPort !== undefined) {
    group.virtualPort = parseVirtualPort(virtualPort, `${where}/virtualport`, false);
  }
  const bandwidth = firstChild(element, "bandwidth");
  if (bandwidth !== undefined) {
    const parsed = parseBandwidth(bandwidth, `${where}/bandwidth`, false);
    if (parsed !== undefined) group.bandwidth = parsed;
  }
  const vlan = firstChild(element, "vlan");
  if (vlan !== undefined) group.vlan = parseVlan(vlan, `${where}/vlan`);
  return group;
}

function readRoutes(
  root: XmlElement,
  name: string,
  ips: ParsedIp[],
  definition: NetworkDefinition,
): void {
  const routes = childrenNamed(root, "route").map((route, index) =>
    parseNetworkRoute(route, name, `/network/route[${index + 1}]`)
  );
  routes.forEach(({ route, gateway }, index) => {
    // The gateway must be directly reachable on one of the network's own addresses.
    const reachable = ips.some(({ address, prefix }) =>
      prefix !== undefined && inNetwork(gateway, address, prefix)
    );
    if (!reachable) {
      throw new VirtError(
        ErrorCode.CONFIG_UNSUPPORTED,
        `unreachable static route gateway '${route.gateway}' specified for network '${name}'`,
        { where: `/network/route[${index + 1}]/@gateway` },
      );
    }
    definition.routes.push(route);
  });
}

/** The rules tying the bridge, MTU and forward devices to the forward mode. */
function checkAgainstMode(
  definition: NetworkDefinition,
  bridgeElement: XmlElement | undefined,
): void {
  const { name, bridge } = definition;
  const forward: NetworkForward | undefined = definition.forward;
  const mode: ForwardMode | "none" = forward?.mode ?? "none";
  const fail = (message: string, where = "/network/forward"): never => {
    throw new VirtError(ErrorCode.XML_ERROR, message, { where });
  };
  const interfaceCount = forward === undefined
    ? 0
    : forward.interfaces.length + forward.addresses.length;
  if (mode === "route" || mode === "nat") {
    if (definition.ips.length === 0) {
      fail(`${mode} forwarding requested, but no IP address provided for network '${name}'`);
    }
    if (interfaceCount > 1) {
      fail(`multiple forwarding interfaces specified for network '${name}', only one is supported`);
    }
  } else if (mode === "open") {
    if (interfaceCount > 0) {
      fail(`forward dev not allowed for network '${name}' with forward mode='${mode}'`);
    }
  } else if (mode !== "none") {
    if (mode !== "bridge") {
      if (bridge.name !== undefined) {
        fail(`bridge name not allowed in ${mode} mode (network '${name}')`, "/network/bridge");
      }
      if (bridge.zone !== undefined) {
        fail(`bridge zone not allowed in ${mode} mode (network '${name}')`, "/network/bridge");
      }
      if (bridge.macTableManager !== undefined) {
        fail(
          `bridge macTableManager setting not allowed in ${mode} mode (network '${name}')`,
          "/network/bridge",
        );
      }
    }
    const stpGiven = attributeOf(bridgeElement, "stp") !== undefined;
    if (bridge.delay > 0 || stpGiven || bridge.zone !== undefined) {
      fail(
        `bridge delay/stp/zone options only allowed in route, nat, and isolated mode, not in ${mode} (network '${name}')`,
        "/network/bridge",
      );
    }
    if (bridge.name !== undefined && (interfaceCount > 0 || forward?.pf !== undefined)) {
      fail(
        `A network with forward mode='${mode}' can specify a bridge name or a forward dev, but not both (network '${name}')`,
      );
    }
  }
  if (
    definition.mtu !== undefined &&
    !(mode === "none" || mode === "nat" || mode === "route" || mode === "open")
  ) {
    fail(
      `mtu size only allowed in open, route, nat, and isolated mode, not in ${mode} (network '${name}')`,
      "/network/mtu",
    );
  }
}

function readMetadata(root: XmlElement, definition: NetworkDefinition): void {
  // libvirt 9.0 keeps <metadata> whenever it is there, an empty one too.
  const metadata = firstChild(root, "metadata");
  if (metadata === undefined) return;
  const copy: XmlElement = structuredClone(metadata);
  // Like libxml2's node copy, prefixes declared on <network> and used inside are declared
  // on the copy, in the order they are first used.
  const added: Record<string, string> = {};
  const visit = (element: XmlElement, declared: Set<string>): void => {
    const here = new Set(declared);
    for (const name of Object.keys(element.attributes ?? {})) {
      if (name.startsWith("xmlns:")) here.add(name.slice("xmlns:".length));
    }
    for (const name of [element.name, ...Object.keys(element.attributes ?? {})]) {
      const colon = name.indexOf(":");
      if (colon < 0 || name.startsWith("xmlns")) continue;
      const prefix = name.slice(0, colon);
      const uri = root.attributes?.[`xmlns:${prefix}`];
      if (!here.has(prefix) && uri !== undefined && !(prefix in added)) added[prefix] = uri;
    }
    for (const child of elementsOf(element)) visit(child, here);
  };
  visit(copy, new Set());
  for (const [prefix, uri] of Object.entries(added)) {
    (copy.attributes ??= {})[`xmlns:${prefix}`] = uri;
  }
  definition.metadata = copy;
}

/** The prefix the document binds to the dnsmasq namespace URI, if it declares one. */
function namespacePrefix(root: XmlElement): string | undefined {
  for (const [name, value] of Object.entries(root.attributes ?? {})) {
    if (name.startsWith("xmlns:") && value === DNSMASQ_NAMESPACE_URI) {
      return name.slice("xmlns:".length);
    }
  }
  return undefined;
}

function readDnsmasqOptions(root: XmlElement, prefix: string | undefined): string[] | undefined {
  if (prefix === undefined) return undefined;
  const container = firstChild(root, `${prefix}:options`);
  if (container === undefined) return undefined;
  const where = `/network/${prefix}:options`;
  const values: string[] = [];
  elementsOf(container).forEach((option, index) => {
    const at = `${where}/${option.name}[${index + 1}]`;
    if (option.name !== `${prefix}:option`) {
      throw new VirtError(
        ErrorCode.CONFIG_UNSUPPORTED,
        `element '${option.name}' is not supported here`,
        { where: at },
      );
    }
    refuseUnknown(option, at, [], ["value"]);
    const value = option.attributes?.value;
    if (value !== undefined) values.push(value);
  });
  return values.length === 0 ? undefined : values;
}
