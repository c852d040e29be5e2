/**
 * {@linkcode NetworkDefinition} → network XML exactly as libvirt 9.0 writes it
 * (virNetworkDefFormatBuf): element order, `<forward dev>` from the first interface, `<bridge>`
 * with `stp` and `delay` for the modes libvirt manages, `<dns>` and `<ip>` children only when
 * they hold something, `<dnsmasq:options>` last.
 *
 * @module
 */

import type {
  DhcpLease,
  NetworkDefinition,
  NetworkDns,
  NetworkForward,
  NetworkIp,
  NetworkRoute,
  PortGroup,
} from "../model/network.ts";
import { DNSMASQ_NAMESPACE_URI, hasManagedBridge } from "../model/network.ts";
import type { XmlElement } from "../model/xml_extra.ts";
import { formatBandwidth, formatVirtualPort, formatVlan } from "./format_port_options.ts";
import { escapeXml, LineBuffer } from "./storage_xml_common.ts";

/** Options of {@linkcode formatNetworkXml}. */
export interface FormatNetworkOptions {
  /**
   * The inactive (`--inactive`) form: the interfaces of a `<pf>` pool, which libvirt fills in
   * only when the network runs, are left out. Default false.
   */
  inactive?: boolean;
}

/**
 * Writes network XML.
 *
 * @param network The definition.
 * @param options Which form to write.
 * @returns The document, ending with a newline.
 *
 * @example
 * ```ts
 * import { formatNetworkXml } from "./format_network.ts";
 * import { parseNetworkXml } from "./parse_network.ts";
 * const xml = "<network><name>n</name><uuid>81ff0d90-c91e-6742-64da-4a736edb9a9b</uuid></network>";
 * console.log(formatNetworkXml(parseNetworkXml(xml)).split("\n")[3]); // "  <bridge stp='on' delay='0'/>"
 * ```
 */
export function formatNetworkXml(
  network: NetworkDefinition,
  options: FormatNetworkOptions = {},
): string {
  const out = new LineBuffer();
  let root = "<network";
  if (network.dnsmasqOptions !== undefined) root += ` xmlns:dnsmasq='${DNSMASQ_NAMESPACE_URI}'`;
  if (network.ipv6 === true) root += " ipv6='yes'";
  if (network.trustGuestRxFilters !== undefined) {
    root += ` trustGuestRxFilters='${network.trustGuestRxFilters}'`;
  }
  out.open(`${root}>`);
  out.line(`<name>${escapeXml(network.name)}</name>`);
  out.line(`<uuid>${network.uuid}</uuid>`);
  if (network.metadata !== undefined) formatMetadata(out, network.metadata);
  if (network.forward !== undefined) formatForward(out, network.forward, options.inactive ?? false);
  formatBridge(out, network);
  if (network.mtu !== undefined) out.line(`<mtu size='${network.mtu}'/>`);
  if (network.mac !== undefined) out.line(`<mac address='${network.mac}'/>`);
  if (network.domain !== undefined) {
    const { name, localOnly } = network.domain;
    let line = `<domain name='${escapeXml(name)}'`;
    if (localOnly !== undefined) line += ` localOnly='${localOnly}'`;
    out.line(`${line}/>`);
  }
  formatDns(out, network.dns);
  formatVlan(out, network.vlan);
  formatBandwidth(out, network.bandwidth);
  if (network.isolatedPort !== undefined) {
    out.line(`<port isolated='${network.isolatedPort}'/>`);
  }
  for (const ip of network.ips) formatIp(out, ip);
  for (const route of network.routes) formatRoute(out, route);
  formatVirtualPort(out, network.virtualPort);
  for (const group of network.portGroups) formatPortGroup(out, group);
  if (network.dnsmasqOptions !== undefined) {
    out.open("<dnsmasq:options>");
    for (const value of network.dnsmasqOptions) {
      out.line(`<dnsmasq:option value='${escapeXml(value)}'/>`);
    }
    out.close("</dnsmasq:options>");
  }
  out.close("</network>");
  return out.text();
}

function formatForward(out: LineBuffer, forward: NetworkForward, inactive: boolean): void {
  const dev = forward.pf === undefined ? forward.interfaces[0] : undefined;
  let line = "<forward";
  if (dev !== undefined) line += ` dev='${escapeXml(dev)}'`;
  line += ` mode='${forward.mode}'`;
  if (forward.mode === "hostdev") line += ` managed='${forward.managed ? "yes" : "no"}'`;
  const nat = forward.nat;
  const hasNat = nat !== undefined &&
    (nat.addressStart !== undefined || nat.portStart !== undefined || nat.ipv6 !== undefined);
  const short = forward.interfaces.length === 0 && forward.addresses.length === 0 &&
    forward.pf === undefined && forward.driver === undefined && !hasNat;
  if (short) {
    out.line(`${line}/>`);
    return;
  }
  out.open(`${line}>`);
  if (forward.driver !== undefined) out.line(`<driver name='${forward.driver}'/>`);
  if (forward.mode === "nat" && nat !== undefined && hasNat) {
    const hasChildren = nat.addressStart !== undefined || nat.portStart !== undefined;
    const ipv6 = nat.ipv6 === undefined ? "" : ` ipv6='${nat.ipv6}'`;
    if (!hasChildren) {
      out.line(`<nat${ipv6}/>`);
    } else {
      out.open(`<nat${ipv6}>`);
      if (nat.addressStart !== undefined) {
        const end = nat.addressEnd === undefined ? "" : ` end='${nat.addressEnd}'`;
        out.line(`<address start='${nat.addressStart}'${end}/>`);
      }
      if (nat.portStart !== undefined) {
        const end = nat.portEnd === undefined || nat.portEnd === 0 ? "" : ` end='${nat.portEnd}'`;
        out.line(`<port start='${nat.portStart}'${end}/>`);
      }
      out.close("</nat>");
    }
  }
  if (forward.pf !== undefined) out.line(`<pf dev='${escapeXml(forward.pf)}'/>`);
  if (forward.pf === undefined || !inactive) {
    for (const name of forward.interfaces) out.line(`<interface dev='${escapeXml(name)}'/>`);
    for (const address of forward.addresses) {
      out.line(
        `<address type='pci' domain='0x${hex(address.domain, 4)}' bus='0x${
          hex(address.bus, 2)
        }' slot='0x${hex(address.slot, 2)}' function='0x${address.function}'/>`,
      );
    }
  }
  out.close("</forward>");
}

function hex(value: number, digits: number): string {
  return value.toString(16).padStart(digits, "0");
}

function formatBridge(out: LineBuffer, network: NetworkDefinition): void {
  const bridge = network.bridge;
  const managed = hasManagedBridge(network);
  if (!managed && bridge.name === undefined && bridge.macTableManager === undefined) return;
  let line = "<bridge";
  if (bridge.name !== undefined) line += ` name='${escapeXml(bridge.name)}'`;
  if (bridge.zone !== undefined) line += ` zone='${escapeXml(bridge.zone)}'`;
  if (managed) line += ` stp='${bridge.stp ? "on" : "off"}' delay='${bridge.delay}'`;
  if (bridge.macTableManager !== undefined) line += ` macTableManager='${bridge.macTableManager}'`;
  out.line(`${line}/>`);
}

function formatDns(out: LineBuffer, dns: NetworkDns): void {
  const records = dns.forwarders.length + dns.txts.length + dns.srvs.length + dns.hosts.length;
  if (dns.enable === undefined && dns.forwardPlainNames === undefined && records === 0) return;
  let line = "<dns";
  if (dns.enable !== undefined) line += ` enable='${dns.enable}'`;
  if (dns.forwardPlainNames !== undefined) line += ` forwardPlainNames='${dns.forwardPlainNames}'`;
  if (records === 0) {
    out.line(`${line}/>`);
    return;
  }
  out.open(`${line}>`);
  for (const forwarder of dns.forwarders) {
    let text = "<forwarder";
    if (forwarder.domain !== undefined) text += ` domain='${escapeXml(forwarder.domain)}'`;
    if (forwarder.addr !== undefined) text += ` addr='${forwarder.addr}'`;
    out.line(`${text}/>`);
  }
  for (const txt of dns.txts) {
    out.line(`<txt name='${escapeXml(txt.name)}' value='${escapeXml(txt.value)}'/>`);
  }
  for (const srv of dns.srvs) {
    let text = `<srv service='${escapeXml(srv.service)}' protocol='${escapeXml(srv.protocol)}'`;
    if (srv.domain !== undefined) text += ` domain='${escapeXml(srv.domain)}'`;
    if (srv.target !== undefined) text += ` target='${escapeXml(srv.target)}'`;
    if (srv.port !== undefined) text += ` port='${srv.port}'`;
    if (srv.priority !== undefined) text += ` priority='${srv.priority}'`;
    if (srv.weight !== undefined) text += ` weight='${srv.weight}'`;
    out.line(`${text}/>`);
  }
  for (const host of dns.hosts) {
    out.open(`<host ip='${host.ip}'>`);
    for (const name of host.hostnames) out.line(`<hostname>${escapeXml(name)}</hostname>`);
    out.close("</host>");
  }
  out.close("</dns>");
}

function formatIp(out: LineBuffer, ip: NetworkIp): void {
  let line = "<ip";
  if (ip.family !== undefined) line += ` family='${ip.family}'`;
  line += ` address='${ip.address}'`;
  if (ip.netmask !== undefined) line += ` netmask='${ip.netmask}'`;
  if (ip.prefix !== undefined) line += ` prefix='${ip.prefix}'`;
  if (ip.localPtr !== undefined) line += ` localPtr='${ip.localPtr}'`;
  const dhcp = ip.dhcp;
  const hasDhcp = dhcp !== undefined && (dhcp.ranges.length > 0 || dhcp.hosts.length > 0);
  // libvirt 9.0 writes an <ip> open and closed even when it holds nothing.
  out.open(`${line}>`);
  if (ip.tftpRoot !== undefined) out.line(`<tftp root='${escapeXml(ip.tftpRoot)}'/>`);
  if (dhcp !== undefined && hasDhcp) {
    out.open("<dhcp>");
    for (const range of dhcp.ranges) {
      formatLeased(out, `<range start='${range.start}' end='${range.end}'`, "range", range.lease);
    }
    for (const host of dhcp.hosts) {
      let text = "<host";
      if (host.mac !== undefined) text += ` mac='${escapeXml(host.mac)}'`;
      if (host.id !== undefined) text += ` id='${escapeXml(host.id)}'`;
      if (host.name !== undefined) text += ` name='${escapeXml(host.name)}'`;
      if (host.ip !== undefined) text += ` ip='${host.ip}'`;
      formatLeased(out, text, "host", host.lease);
    }
    if (dhcp.bootp !== undefined) {
      const server = dhcp.bootp.server === undefined ? "" : ` server='${dhcp.bootp.server}'`;
      out.line(`<bootp file='${escapeXml(dhcp.bootp.file)}'${server}/>`);
    }
    out.close("</dhcp>");
  }
  out.close("</ip>");
}

function formatLeased(
  out: LineBuffer,
  start: string,
  name: string,
  lease: DhcpLease | undefined,
): void {
  if (lease === undefined) {
    out.line(`${start}/>`);
    return;
  }
  out.open(`${start}>`);
  out.line(
    lease.expiry === 0
      ? "<lease expiry='0'/>"
      : `<lease expiry='${lease.expiry}' unit='${lease.unit}'/>`,
  );
  out.close(`</${name}>`);
}

function formatRoute(out: LineBuffer, route: NetworkRoute): void {
  let line = "<route";
  if (route.family !== undefined) line += ` family='${route.family}'`;
  line += ` address='${route.address}'`;
  if (route.netmask !== undefined) line += ` netmask='${route.netmask}'`;
  if (route.prefix !== undefined) line += ` prefix='${route.prefix}'`;
  line += ` gateway='${route.gateway}'`;
  if (route.metric !== undefined && route.metric > 0) line += ` metric='${route.metric}'`;
  out.line(`${line}/>`);
}

function formatPortGroup(out: LineBuffer, group: PortGroup): void {
  let line = `<portgroup name='${escapeXml(group.name)}'`;
  if (group.isDefault) line += " default='yes'";
  if (group.trustGuestRxFilters !== undefined) {
    line += ` trustGuestRxFilters='${group.trustGuestRxFilters}'`;
  }
  out.open(`${line}>`);
  formatVlan(out, group.vlan);
  formatVirtualPort(out, group.virtualPort);
  formatBandwidth(out, group.bandwidth);
  out.close("</portgroup>");
}

/** `<metadata>` as libxml2 dumps it (libvirt copies the node): double-quoted attributes. */
function formatMetadata(out: LineBuffer, metadata: XmlElement): void {
  dumpElement(out, metadata);
}

function dumpElement(out: LineBuffer, element: XmlElement): void {
  let start = `<${element.name}`;
  for (const [name, value] of Object.entries(element.attributes ?? {})) {
    start += ` ${name}="${escapeAttribute(value)}"`;
  }
  const children = element.children ?? [];
  if (children.length === 0) {
    out.line(`${start}/>`);
    return;
  }
  if (children.every((child) => typeof child !== "string")) {
    out.open(`${start}>`);
    for (const child of children) dumpElement(out, child as XmlElement);
    out.close(`</${element.name}>`);
    return;
  }
  out.line(`${start}>${children.map(inlineNode).join("")}</${element.name}>`);
}

function inlineNode(node: XmlElement | string): string {
  if (typeof node === "string") return escapeText(node);
  let text = `<${node.name}`;
  for (const [name, value] of Object.entries(node.attributes ?? {})) {
    text += ` ${name}="${escapeAttribute(value)}"`;
  }
  const children = node.children ?? [];
  if (children.length === 0) return `${text}/>`;
  return `${text}>${children.map(inlineNode).join("")}</${node.name}>`;
}

function escapeText(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(
    /\r/g,
    "&#13;",
  );
}

function escapeAttribute(text: string): string {
  return escapeText(text).replace(/"/g, "&quot;").replace(/\n/g, "&#10;").replace(
    /\t/g,
    "&#9;",
  );
}
