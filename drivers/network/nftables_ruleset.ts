/**
 * The nftables rules of a network evirt runs, in a table of evirt's own (`inet evirt`) with
 * base chains of the network's own, keyed by its bridge: the rules libvirt 9.0 installs for
 * the same network with its iptables backend (networkAddFirewallRules), written for nftables.
 *
 * - every bridge mode but `open`: DHCP, DNS (and TFTP) to dnsmasq allowed in and out, guests
 *   on the bridge may talk to each other, anything else forwarded to or from the bridge is
 *   rejected;
 * - `nat`: each IPv4 network (and IPv6 with `<nat ipv6='yes'>`) is forwarded out, replies come
 *   back, and what leaves is masqueraded (or SNAT to `<nat><address>`), with multicast and
 *   broadcast left alone and TCP/UDP source ports in `<nat><port>` (default 1024-65535);
 * - `route` (and the IPv6 networks of `nat` without IPv6 NAT): forwarded both ways, no NAT;
 * - `open`, `bridge` and the modes evirt does not run: nothing.
 *
 * A forward `dev` restricts the forwarding to that interface. The scripts are for `nft -f`:
 * applying {@linkcode nftablesRuleset} twice gives the same rules (it flushes the chains it
 * fills), and {@linkcode nftablesRemoval} removes exactly the network's chains, whether or
 * not they exist, in one transaction. Pure: nothing is run here.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import {
  effectivePrefix,
  formatIp,
  type IpAddress,
  networkOf,
  parseIp,
} from "../../src/model/ip_address.ts";
import { bridgeNameOf, type NetworkDefinition, type NetworkIp } from "../../src/model/network.ts";

/** The nftables table (family `inet`) that holds every evirt network's chains. */
export const NFT_TABLE = "evirt";

/** Source ports masquerading maps to when `<nat><port>` does not say (libvirt's default). */
export const NAT_PORT_RANGE_DEFAULT = { start: 1024, end: 65535 } as const;

/** The hooks a network's base chains sit on, with their chain type and priority. */
const HOOKS = {
  input: "type filter hook input priority filter; policy accept;",
  output: "type filter hook output priority filter; policy accept;",
  forward: "type filter hook forward priority filter; policy accept;",
  postrouting: "type nat hook postrouting priority srcnat; policy accept;",
} as const;

type Hook = keyof typeof HOOKS;

/**
 * The names of a network's chains in {@linkcode NFT_TABLE}: `br_<bridge>_<hook>`, the bridge
 * name escaped so that every name maps to a distinct identifier nft accepts.
 *
 * @example
 * ```ts
 * import { networkChainNames } from "./nftables_ruleset.ts";
 * console.log(networkChainNames("virbr-0").forward); // "br_virbr_2d0_forward"
 * ```
 */
export function networkChainNames(bridge: string): Record<Hook, string> {
  const escaped = [...bridge].map((character) =>
    /[A-Za-z0-9]/.test(character)
      ? character
      : `_${character.codePointAt(0)!.toString(16).padStart(2, "0")}`
  ).join("");
  const name = (hook: Hook) => `br_${escaped}_${hook}`;
  return {
    input: name("input"),
    output: name("output"),
    forward: name("forward"),
    postrouting: name("postrouting"),
  };
}

/** One network (`<ip>`) as the rules need it. */
interface Subnet {
  family: "ipv4" | "ipv6";
  /** `a.b.c.d/p` or `x::/p`. */
  cidr: string;
}

function subnetOf(ip: NetworkIp, name: string): Subnet {
  const address = parseIp(ip.address) as IpAddress;
  const netmask = ip.netmask === undefined ? undefined : parseIp(ip.netmask);
  const prefix = effectivePrefix(address, netmask, ip.prefix);
  if (prefix === undefined) {
    throw new VirtError(
      ErrorCode.INTERNAL_ERROR,
      `network '${name}' has an address without a prefix: ${ip.address}`,
      { where: "/network/ip/@address" },
    );
  }
  return { family: address.family, cidr: `${formatIp(networkOf(address, prefix))}/${prefix}` };
}

function quote(name: string): string {
  if (/["\\\s]/.test(name)) {
    throw new VirtError(
      ErrorCode.INTERNAL_ERROR,
      `interface name '${name}' cannot be used in nftables`,
      {
        where: "/network",
      },
    );
  }
  return `"${name}"`;
}

/**
 * The rules of a network, as an `nft -f` script that creates (or refreshes) its chains.
 *
 * @param definition A completed definition (its bridge name set).
 * @returns The script, or an empty string for a network that needs no rules.
 * @throws {VirtError} Code 1 for a managed network without a bridge name.
 *
 * @example
 * ```ts
 * import { nftablesRuleset } from "./nftables_ruleset.ts";
 * const script = nftablesRuleset({
 *   name: "n", uuid: "81ff0d90-c91e-6742-64da-4a736edb9a9b",
 *   forward: { mode: "nat", interfaces: [], addresses: [], managed: false },
 *   bridge: { name: "virbr5", stp: true, delay: 0 },
 *   dns: { forwarders: [], txts: [], srvs: [], hosts: [] },
 *   ips: [{ address: "10.0.0.1", prefix: 24 }], routes: [], portGroups: [],
 * });
 * console.log(script.includes("ip saddr 10.0.0.0/24 ip daddr != 10.0.0.0/24 masquerade")); // true
 * ```
 */
export function nftablesRuleset(definition: NetworkDefinition): string {
  const mode = definition.forward?.mode ?? "none";
  if (mode !== "none" && mode !== "nat" && mode !== "route") return "";
  const bridge = bridgeNameOf(definition);
  const chains = networkChainNames(bridge);
  const rules: Record<Hook, string[]> = { input: [], output: [], forward: [], postrouting: [] };
  const br = quote(bridge);
  const dev = definition.forward?.interfaces[0];
  const subnets = definition.ips.map((ip) => subnetOf(ip, definition.name));
  const hasIpv6 = subnets.some((subnet) => subnet.family === "ipv6") || definition.ipv6 === true;
  const tftp = definition.ips.some((ip) => ip.tftpRoot !== undefined && !ip.address.includes(":"));

  // dnsmasq's services on the bridge: DHCP, DNS, TFTP.
  rules.input.push(
    `iifname ${br} meta nfproto ipv4 udp dport 67 accept`,
    `iifname ${br} meta nfproto ipv4 tcp dport 67 accept`,
  );
  rules.output.push(
    `oifname ${br} meta nfproto ipv4 udp dport 68 accept`,
    `oifname ${br} meta nfproto ipv4 tcp dport 68 accept`,
  );
  if (hasIpv6) {
    rules.input.push(`iifname ${br} meta nfproto ipv6 udp dport 547 accept`);
    rules.output.push(`oifname ${br} meta nfproto ipv6 udp dport 546 accept`);
  }
  rules.input.push(`iifname ${br} udp dport 53 accept`, `iifname ${br} tcp dport 53 accept`);
  rules.output.push(`oifname ${br} udp dport 53 accept`, `oifname ${br} tcp dport 53 accept`);
  if (tftp) {
    rules.input.push(`iifname ${br} meta nfproto ipv4 udp dport 69 accept`);
    rules.output.push(`oifname ${br} meta nfproto ipv4 udp dport 69 accept`);
  }

  // Guests on the bridge reach each other; replies and routed traffic come in; guests go out.
  rules.forward.push(`iifname ${br} oifname ${br} accept`);
  const inbound: string[] = [];
  const outbound: string[] = [];
  const viaOut = dev === undefined ? "" : ` oifname ${quote(dev)}`;
  const viaIn = dev === undefined ? "" : ` iifname ${quote(dev)}`;
  // An isolated network forwards nothing beyond its bridge.
  for (const subnet of mode === "none" ? [] : subnets) {
    const match = subnet.family === "ipv4" ? "ip" : "ip6";
    const natted = mode === "nat" &&
      (subnet.family === "ipv4" || definition.forward?.nat?.ipv6 === "yes");
    outbound.push(`iifname ${br} ${match} saddr ${subnet.cidr}${viaOut} accept`);
    inbound.push(
      natted
        ? `oifname ${br} ${match} daddr ${subnet.cidr}${viaIn} ct state related,established accept`
        : `oifname ${br} ${match} daddr ${subnet.cidr}${viaIn} accept`,
    );
    if (natted) rules.postrouting.push(...natRules(definition, subnet, viaOut));
  }
  rules.forward.push(...inbound, `oifname ${br} reject`, ...outbound, `iifname ${br} reject`);

  const lines = [`add table inet ${NFT_TABLE}`];
  for (const hook of Object.keys(HOOKS) as Hook[]) {
    if (rules[hook].length === 0) continue;
    lines.push(`add chain inet ${NFT_TABLE} ${chains[hook]} { ${HOOKS[hook]} }`);
    lines.push(`flush chain inet ${NFT_TABLE} ${chains[hook]}`);
    for (const rule of rules[hook]) {
      lines.push(`add rule inet ${NFT_TABLE} ${chains[hook]} ${rule}`);
    }
  }
  return lines.map((line) => `${line}\n`).join("");
}

function natRules(definition: NetworkDefinition, subnet: Subnet, viaOut: string): string[] {
  const nat = definition.forward?.nat;
  const match = subnet.family === "ipv4" ? "ip" : "ip6";
  const from = `${match} saddr ${subnet.cidr}`;
  const leaving = `${from} ${match} daddr != ${subnet.cidr}${viaOut}`;
  const ports = `${nat?.portStart ?? NAT_PORT_RANGE_DEFAULT.start}-${
    nat?.portEnd ?? NAT_PORT_RANGE_DEFAULT.end
  }`;
  const snat = subnet.family === "ipv4" && nat?.addressStart !== undefined
    ? `${nat.addressStart}${nat.addressEnd === undefined ? "" : `-${nat.addressEnd}`}`
    : undefined;
  const translate = (withPorts: boolean): string => {
    if (snat !== undefined) return `snat ip to ${snat}${withPorts ? `:${ports}` : ""}`;
    return withPorts ? `masquerade to :${ports}` : "masquerade";
  };
  // Local multicast and broadcast keep their source address.
  const exempt = subnet.family === "ipv4"
    ? [`${from} ip daddr 224.0.0.0/24 return`, `${from} ip daddr 255.255.255.255 return`]
    : [`${from} ip6 daddr ff00::/8 return`];
  return [
    ...exempt,
    `meta l4proto tcp ${leaving} ${translate(true)}`,
    `meta l4proto udp ${leaving} ${translate(true)}`,
    `${leaving} ${translate(false)}`,
  ];
}

/**
 * An `nft -f` script that removes the network's chains (and only them) in one transaction,
 * whether or not they exist: each chain is declared, flushed and deleted. The shared table
 * stays.
 *
 * @param bridge The network's bridge name.
 *
 * @example
 * ```ts
 * import { nftablesRemoval } from "./nftables_ruleset.ts";
 * console.log(nftablesRemoval("virbr5").split("\n")[1]); // "add chain inet evirt br_virbr5_input { type filter hook input priority filter; policy accept; }"
 * ```
 */
export function nftablesRemoval(bridge: string): string {
  const chains = networkChainNames(bridge);
  const lines = [`add table inet ${NFT_TABLE}`];
  for (const hook of Object.keys(HOOKS) as Hook[]) {
    lines.push(
      `add chain inet ${NFT_TABLE} ${chains[hook]} { ${HOOKS[hook]} }`,
      `flush chain inet ${NFT_TABLE} ${chains[hook]}`,
      `delete chain inet ${NFT_TABLE} ${chains[hook]}`,
    );
  }
  return lines.map((line) => `${line}\n`).join("");
}
