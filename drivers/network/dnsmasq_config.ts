/**
 * The dnsmasq configuration libvirt 9.0 writes for a network (networkDnsmasqConfContents):
 * the configuration file, the DHCP hosts file (`dhcp-hostsfile`) and the DNS hosts file
 * (`addn-hosts`), option for option and in libvirt's order, from a network definition and the
 * paths the caller chooses. Pure: nothing is written or started here.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import {
  effectivePrefix,
  formatIp,
  type IpAddress,
  netmaskOfPrefix,
  networkOf,
  parseIp,
} from "../../src/model/ip_address.ts";
import {
  bridgeNameOf,
  type DhcpLease,
  type NetworkDefinition,
  type NetworkDns,
  type NetworkIp,
} from "../../src/model/network.ts";

/** Where the files of a network's dnsmasq live, for {@linkcode dnsmasqConfiguration}. */
export interface DnsmasqPaths {
  /** The folder of the hosts files (libvirt's `/var/lib/libvirt/dnsmasq`). */
  stateDir: string;
  /** dnsmasq's pid file, when dnsmasq is to write one (`pid-file=`). */
  pidFile?: string;
}

/** What {@linkcode dnsmasqConfiguration} makes. */
export interface DnsmasqFiles {
  /** The configuration file's text. */
  config: string;
  /** Where the DHCP hosts file goes (`<stateDir>/<name>.hostsfile`). */
  hostsFilePath: string;
  /** The DHCP hosts file's text: one `mac,ip,name[,lease]` line per static host. */
  hostsFile: string;
  /** Where the DNS hosts file goes (`<stateDir>/<name>.addnhosts`). */
  addnHostsPath: string;
  /** The DNS hosts file's text: one `ip<TAB>name<TAB>…` line per address. */
  addnHosts: string;
}

/**
 * Whether the network needs a dnsmasq at all (networkStartDhcpDaemon): it has an address, and
 * either DHCP or TFTP on one of them or DNS not disabled.
 *
 * @example
 * ```ts
 * import { needsDnsmasq } from "./dnsmasq_config.ts";
 * console.log(needsDnsmasq({ ips: [], dns: { forwarders: [], txts: [], srvs: [], hosts: [] } })); // false
 * ```
 */
export function needsDnsmasq(definition: Pick<NetworkDefinition, "ips" | "dns">): boolean {
  if (definition.ips.length === 0) return false;
  const service = definition.ips.some((ip) => hasDhcp(ip) || ip.tftpRoot !== undefined);
  return service || definition.dns.enable !== "no";
}

function hasDhcp(ip: NetworkIp): boolean {
  return ip.dhcp !== undefined && (ip.dhcp.ranges.length > 0 || ip.dhcp.hosts.length > 0);
}

function isIpv6(ip: NetworkIp): boolean {
  return ip.address.includes(":");
}

/**
 * The configuration and hosts files libvirt 9.0 writes for `definition`'s dnsmasq.
 *
 * @param definition A completed definition (its bridge name set).
 * @param paths Where the hosts files and the pid file go.
 * @returns The three files' texts and the hosts files' paths.
 * @throws {VirtError} Code 67 for two DHCP sections of one family or a PTR domain that cannot
 *   be made, 1 for a network without a bridge name or an address without a prefix.
 *
 * @example
 * ```ts
 * import { dnsmasqConfiguration } from "./dnsmasq_config.ts";
 * const files = dnsmasqConfiguration({
 *   name: "n", uuid: "81ff0d90-c91e-6742-64da-4a736edb9a9b",
 *   forward: { mode: "nat", interfaces: [], addresses: [], managed: false },
 *   bridge: { name: "virbr5", stp: true, delay: 0 },
 *   dns: { forwarders: [], txts: [], srvs: [], hosts: [] },
 *   ips: [{ address: "10.0.0.1", prefix: 24, dhcp: { ranges: [{ start: "10.0.0.2", end: "10.0.0.9" }], hosts: [] } }],
 *   routes: [], portGroups: [],
 * }, { stateDir: "/run/evirt/dnsmasq" });
 * console.log(files.config.includes("dhcp-range=10.0.0.2,10.0.0.9,255.255.255.0\n")); // true
 * ```
 */
export function dnsmasqConfiguration(
  definition: NetworkDefinition,
  paths: DnsmasqPaths,
): DnsmasqFiles {
  const bridge = bridgeNameOf(definition);
  const dns = definition.dns;
  const wantDns = dns.enable !== "no";
  const lines: string[] = [
    "##WARNING:  THIS IS AN AUTO-GENERATED FILE. CHANGES TO IT ARE LIKELY TO BE",
    "##OVERWRITTEN AND LOST.  Changes to this configuration should be made using:",
    `##    virsh net-edit ${definition.name}`,
    "## or other application using the libvirt API.",
    "##",
    "## dnsmasq conf file created by libvirt",
    "strict-order",
  ];
  if (!wantDns) lines.push("port=0");
  if (wantDns) lines.push(...forwarderLines(dns));
  if (definition.domain !== undefined) {
    if (definition.domain.localOnly === "yes") lines.push(`local=/${definition.domain.name}/`);
    lines.push(`domain=${definition.domain.name}`, "expand-hosts");
  }
  if (wantDns) lines.push(...localPtrLines(definition));
  if (wantDns && dns.forwardPlainNames === "no") lines.push("domain-needed", "local=//");
  if (paths.pidFile !== undefined) lines.push(`pid-file=${paths.pidFile}`);
  lines.push("except-interface=lo", "bind-dynamic", `interface=${bridge}`);
  if (definition.forward === undefined) {
    // Isolated: no default route, no upstream DNS, and a zero-lifetime IPv6 default route.
    lines.push("dhcp-option=3", "no-resolv", "ra-param=*,0,0");
  }
  if (wantDns) lines.push(...recordLines(dns));
  const { ipv4, ipv6, tftp } = dhcpSections(definition);
  lines.push(...tftp);
  const hosts: string[] = [];
  let leases = 0;
  for (const ip of [ipv4, ipv6]) {
    if (ip === undefined) continue;
    leases += dhcpLines(ip, bridge, lines, hosts);
  }
  if (leases > 0) lines.push(`dhcp-lease-max=${leases}`);
  const hostsFilePath = `${paths.stateDir}/${definition.name}.hostsfile`;
  const addnHostsPath = `${paths.stateDir}/${definition.name}.addnhosts`;
  if (ipv4 !== undefined || ipv6 !== undefined) lines.push(`dhcp-hostsfile=${hostsFilePath}`);
  if (wantDns) lines.push(`addn-hosts=${addnHostsPath}`);
  if (definition.mtu !== undefined && definition.mtu > 0) {
    lines.push(`dhcp-option=option:mtu,${definition.mtu}`);
  }
  if (ipv6 !== undefined) {
    lines.push("enable-ra");
  } else {
    for (const ip of definition.ips) {
      if (isIpv6(ip) && !hasDhcp(ip)) lines.push(`dhcp-range=${ip.address},ra-only`);
    }
  }
  for (const option of definition.dnsmasqOptions ?? []) lines.push(option);
  return {
    config: lines.map((line) => `${line}\n`).join(""),
    hostsFilePath,
    hostsFile: hosts.map((line) => `${line}\n`).join(""),
    addnHostsPath,
    addnHosts: addnHostsText(dns),
  };
}

function forwarderLines(dns: NetworkDns): string[] {
  const lines: string[] = [];
  let noResolv = false;
  for (const forwarder of dns.forwarders) {
    let line = "server=";
    if (forwarder.domain !== undefined) line += `/${forwarder.domain}/`;
    if (forwarder.addr !== undefined) {
      line += forwarder.addr;
      if (forwarder.domain === undefined) noResolv = true;
    } else {
      line += "#";
    }
    lines.push(line);
  }
  if (noResolv) lines.push("no-resolv");
  return lines;
}

function localPtrLines(definition: NetworkDefinition): string[] {
  const lines: string[] = [];
  for (const ip of definition.ips) {
    if (ip.localPtr !== "yes") continue;
    const address = parseIp(ip.address) as IpAddress;
    const prefix = prefixOf(ip, address);
    const step = address.family === "ipv4" ? 8 : 4;
    if (prefix === undefined || prefix % step !== 0) {
      throw new VirtError(
        ErrorCode.CONFIG_UNSUPPORTED,
        `PTR domain for ${address.family === "ipv4" ? "IPv4" : "IPv6"} network with prefix ${
          prefix ?? -1
        } cannot be automatically created`,
        { where: "/network/ip/@localPtr" },
      );
    }
    lines.push(`local=/${ptrDomain(address, prefix)}/`);
  }
  return lines;
}

/** The reverse-lookup domain of a network (virSocketAddrPTRDomain). */
function ptrDomain(address: IpAddress, prefix: number): string {
  const network = networkOf(address, prefix).value;
  if (address.family === "ipv4") {
    const octets = [24n, 16n, 8n, 0n].map((shift) => String((network >> shift) & 0xffn));
    return [...octets.slice(0, prefix / 8).reverse(), "in-addr.arpa"].join(".");
  }
  const nibbles: string[] = [];
  for (let index = 0; index < prefix / 4; index++) {
    nibbles.push(((network >> BigInt(124 - index * 4)) & 0xfn).toString(16));
  }
  return [...nibbles.reverse(), "ip6.arpa"].join(".");
}

function recordLines(dns: NetworkDns): string[] {
  const lines = dns.txts.map((txt) => `txt-record=${txt.name},${txt.value}`);
  for (const srv of dns.srvs) {
    let line = `srv-host=_${srv.service}._${srv.protocol}`;
    if (srv.domain !== undefined) line += `.${srv.domain}`;
    // An empty or "." target says the service is not available here: no port, priority, weight.
    if (srv.target !== undefined && srv.target !== ".") {
      line += `,${srv.target}`;
      const { port, priority, weight } = srv;
      if (port !== undefined || priority !== undefined || weight !== undefined) {
        line += `,${port ?? 1}`;
      }
      if (priority !== undefined || weight !== undefined) line += `,${priority ?? 0}`;
      if (weight !== undefined) line += `,${weight}`;
    }
    lines.push(line);
  }
  return lines;
}

/** The first `<ip>` with DHCP of each family, and the TFTP lines of the IPv4 ones. */
function dhcpSections(
  definition: NetworkDefinition,
): { ipv4?: NetworkIp; ipv6?: NetworkIp; tftp: string[] } {
  let ipv4: NetworkIp | undefined;
  let ipv6: NetworkIp | undefined;
  const tftp: string[] = [];
  for (const ip of definition.ips) {
    const family = isIpv6(ip) ? "IPv6" : "IPv4";
    if (hasDhcp(ip)) {
      if ((family === "IPv4" ? ipv4 : ipv6) !== undefined) {
        throw new VirtError(
          ErrorCode.CONFIG_UNSUPPORTED,
          `For ${family}, multiple DHCP definitions cannot be specified.`,
          { where: "/network/ip/dhcp" },
        );
      }
      if (family === "IPv4") ipv4 = ip;
      else ipv6 = ip;
    }
    if (family === "IPv4" && ip.tftpRoot !== undefined) {
      if (tftp.length === 0) tftp.push("enable-tftp");
      tftp.push(`tftp-root=${ip.tftpRoot}`);
    }
  }
  return { ipv4, ipv6, tftp };
}

function prefixOf(ip: NetworkIp, address: IpAddress): number | undefined {
  const netmask = ip.netmask === undefined ? undefined : parseIp(ip.netmask);
  return effectivePrefix(address, netmask, ip.prefix);
}

function leaseText(lease: DhcpLease | undefined): string | undefined {
  if (lease === undefined) return undefined;
  return lease.expiry === 0 ? "infinite" : `${lease.expiry}${lease.unit[0]}`;
}

/**
 * Appends an `<ip>`'s DHCP lines and its static hosts' lines.
 *
 * @returns The number of addresses its ranges hold (for `dhcp-lease-max`).
 */
function dhcpLines(ip: NetworkIp, bridge: string, lines: string[], hosts: string[]): number {
  const address = parseIp(ip.address) as IpAddress;
  const prefix = prefixOf(ip, address);
  if (prefix === undefined) {
    throw new VirtError(ErrorCode.INTERNAL_ERROR, `bridge '${bridge}' has an invalid prefix`, {
      where: "/network/ip/@address",
    });
  }
  const dhcp = ip.dhcp!;
  const v6 = address.family === "ipv6";
  let leases = 0;
  for (const range of dhcp.ranges) {
    const mask = v6 ? String(prefix) : formatIp({
      family: "ipv4",
      value: netmaskOfPrefix("ipv4", prefix),
    });
    const lease = leaseText(range.lease);
    lines.push(
      `dhcp-range=${range.start},${range.end},${mask}${lease === undefined ? "" : `,${lease}`}`,
    );
    const start = parseIp(range.start) as IpAddress;
    const end = parseIp(range.end) as IpAddress;
    leases += Number(end.value - start.value + 1n);
  }
  if (dhcp.ranges.length === 0 && dhcp.hosts.length > 0) {
    lines.push(`dhcp-range=${ip.address},static${v6 ? `,${prefix}` : ""}`);
  }
  for (const host of dhcp.hosts) {
    if (host.ip === undefined) continue;
    const line = hostLine(host.mac, host.ip, host.name, host.id, v6);
    if (line === undefined) continue;
    const lease = leaseText(host.lease);
    hosts.push(lease === undefined ? line : `${line},${lease}`);
  }
  if (!v6) {
    lines.push("dhcp-no-override", "dhcp-authoritative");
    if (dhcp.bootp !== undefined) {
      const server = dhcp.bootp.server === undefined ? "" : `,,${dhcp.bootp.server}`;
      lines.push(`dhcp-boot=${dhcp.bootp.file}${server}`);
    }
  }
  return leases;
}

/** A DHCP hosts file line (libvirt's hostsfileAdd). */
function hostLine(
  mac: string | undefined,
  ip: string,
  name: string | undefined,
  id: string | undefined,
  v6: boolean,
): string | undefined {
  if (v6) {
    if (name !== undefined && id !== undefined) return `id:${id},${name},[${ip}]`;
    if (name !== undefined) return `${name},[${ip}]`;
    if (id !== undefined) return `id:${id},[${ip}]`;
    return undefined;
  }
  if (name !== undefined && mac !== undefined) return `${mac},${ip},${name}`;
  if (name !== undefined) return `${name},${ip}`;
  return `${mac},${ip}`;
}

/** The DNS hosts file: one line per address, its names tab-separated (libvirt's addnhostsSave). */
function addnHostsText(dns: NetworkDns): string {
  const byAddress = new Map<string, string[]>();
  for (const host of dns.hosts) {
    const names = byAddress.get(host.ip) ?? [];
    names.push(...host.hostnames);
    byAddress.set(host.ip, names);
  }
  let text = "";
  for (const [ip, names] of byAddress) {
    text += `${ip}\t${names.map((name) => `${name}\t`).join("")}\n`;
  }
  return text;
}

/**
 * The dnsmasq command line libvirt runs (networkBuildDhcpDaemonCommandLine): the configuration
 * file, a read-only lease file (leases are reported through the script instead) and the lease
 * script, with the bridge name in the script's environment.
 *
 * @example
 * ```ts
 * import { dnsmasqCommand } from "./dnsmasq_config.ts";
 * const command = dnsmasqCommand({ configPath: "/run/n.conf", leaseScriptPath: "/usr/lib/evirt/lease", bridge: "virbr5" });
 * console.log(command.args); // [ "--conf-file=/run/n.conf", "--leasefile-ro", "--dhcp-script=/usr/lib/evirt/lease" ]
 * ```
 */
export function dnsmasqCommand(
  options: { configPath: string; leaseScriptPath: string; bridge: string },
): { args: string[]; env: Record<string, string> } {
  return {
    args: [
      `--conf-file=${options.configPath}`,
      "--leasefile-ro",
      `--dhcp-script=${options.leaseScriptPath}`,
    ],
    env: { VIR_BRIDGE_NAME: options.bridge },
  };
}
