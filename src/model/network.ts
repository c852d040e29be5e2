/**
 * Virtual network definitions as libvirt 9.0 knows them (network XML, `network.rng`): the
 * typed definition that network XML parses into and formats from.
 *
 * The definition is plain JSON (strings, finite numbers, booleans, arrays, objects; absent
 * means absent), so it is stored in the event log as it is. Addresses are kept in the form
 * libvirt writes them back (IPv6 compressed, MACs lower-case), so formatting needs no parsing.
 *
 * @module
 */

import { ErrorCode, VirtError } from "./errors.ts";
import type { XmlElement } from "./xml_extra.ts";

/** Forward modes, in libvirt's enum order (virNetworkForwardType, `none` left out). */
export const FORWARD_MODES = [
  "nat",
  "route",
  "open",
  "bridge",
  "private",
  "vepa",
  "passthrough",
  "hostdev",
] as const;

/** One of {@linkcode FORWARD_MODES}. */
export type ForwardMode = typeof FORWARD_MODES[number];

/**
 * The modes whose bridge, addresses and DHCP/DNS libvirt manages itself (no `<forward>` is
 * the isolated mode and counts among them).
 */
export const MANAGED_FORWARD_MODES: readonly ForwardMode[] = ["nat", "route", "open"];

/** A yes/no attribute kept as written (libvirt's tristate: absent is a third value). */
export type YesNo = "yes" | "no";

/** Units of a DHCP lease time. */
export type LeaseUnit = "seconds" | "minutes" | "hours";

/** `<lease expiry unit>`: expiry 0 is an infinite lease. */
export interface DhcpLease {
  /** Lease time in `unit`; 0 means infinite. */
  expiry: number;
  /** The unit (libvirt's default is minutes). */
  unit: LeaseUnit;
}

/** A `<range start end>` of a `<dhcp>`. */
export interface DhcpRange {
  /** First address. */
  start: string;
  /** Last address. */
  end: string;
  /** Lease time of the range's addresses. */
  lease?: DhcpLease;
}

/** A static `<host>` of a `<dhcp>`. */
export interface DhcpHost {
  /** MAC address, lower-case as written back (IPv4 only). */
  mac?: string;
  /** DHCPv6 client id (IPv6). */
  id?: string;
  /** Host name. */
  name?: string;
  /** Fixed address. */
  ip?: string;
  /** Lease time of the host. */
  lease?: DhcpLease;
}

/** The `<dhcp>` of an `<ip>`. */
export interface DhcpConfig {
  /** Address ranges handed out. */
  ranges: DhcpRange[];
  /** Static hosts. */
  hosts: DhcpHost[];
  /** `<bootp file server?>` (IPv4). */
  bootp?: { file: string; server?: string };
}

/** An `<ip>` of the network. */
export interface NetworkIp {
  /** `family` as written (absent means IPv4). */
  family?: "ipv4" | "ipv6";
  /** The host-side address. */
  address: string;
  /** IPv4 netmask, as written back. */
  netmask?: string;
  /** Prefix length, when given (and not zero). */
  prefix?: number;
  /** `localPtr`. */
  localPtr?: YesNo;
  /** `<tftp root>` (IPv4). */
  tftpRoot?: string;
  /** `<dhcp>`. */
  dhcp?: DhcpConfig;
}

/** A static `<route>`. */
export interface NetworkRoute {
  /** `family` as written. */
  family?: "ipv4" | "ipv6";
  /** Destination network address. */
  address: string;
  /** IPv4 netmask of the destination. */
  netmask?: string;
  /** Prefix length of the destination. */
  prefix?: number;
  /** Next hop, reachable on one of the network's `<ip>`s. */
  gateway: string;
  /** Route metric (absent: the kernel's default). */
  metric?: number;
}

/** A DNS `<forwarder>`: a server for one domain, or for all names. */
export interface DnsForwarder {
  /** Domain the server answers for. */
  domain?: string;
  /** The server's address. */
  addr?: string;
}

/** A DNS `<txt>` record. */
export interface DnsTxt {
  /** Record name. */
  name: string;
  /** Record text. */
  value: string;
}

/** A DNS `<srv>` record. */
export interface DnsSrv {
  /** Service name. */
  service: string;
  /** Protocol (`tcp`, `udp`). */
  protocol: string;
  /** Domain. */
  domain?: string;
  /** Target host. */
  target?: string;
  /** Port (1..65535). */
  port?: number;
  /** Priority. */
  priority?: number;
  /** Weight. */
  weight?: number;
}

/** A DNS `<host ip>` with its host names. */
export interface DnsHost {
  /** The address. */
  ip: string;
  /** Its names, in order. */
  hostnames: string[];
}

/** The network's `<dns>`. */
export interface NetworkDns {
  /** `enable` (absent: enabled). */
  enable?: YesNo;
  /** `forwardPlainNames`. */
  forwardPlainNames?: YesNo;
  /** Forwarders. */
  forwarders: DnsForwarder[];
  /** TXT records. */
  txts: DnsTxt[];
  /** SRV records. */
  srvs: DnsSrv[];
  /** Host records. */
  hosts: DnsHost[];
}

/** A PCI address of a `hostdev` forward pool. */
export interface PciAddress {
  /** PCI domain (0..0xffff). */
  domain: number;
  /** Bus (0..0xff). */
  bus: number;
  /** Slot (0..0x1f). */
  slot: number;
  /** Function (0..7). */
  function: number;
}

/** `<forward><nat>`: the SNAT address and port ranges. */
export interface ForwardNat {
  /** `ipv6='yes'` makes IPv6 NAT too. */
  ipv6?: YesNo;
  /** First SNAT address (IPv4). */
  addressStart?: string;
  /** Last SNAT address (IPv4). */
  addressEnd?: string;
  /** First source port. */
  portStart?: number;
  /** Last source port. */
  portEnd?: number;
}

/** The network's `<forward>`. */
export interface NetworkForward {
  /** The mode. */
  mode: ForwardMode;
  /** Physical interfaces (`dev` is the first of them), in order. */
  interfaces: string[];
  /** PCI devices of a `hostdev` pool. */
  addresses: PciAddress[];
  /** `<pf dev>`: the SR-IOV physical function whose virtual functions make the pool. */
  pf?: string;
  /** `managed='yes'` (hostdev mode). */
  managed: boolean;
  /** `<driver name>` of a hostdev pool (`kvm`, `vfio`). */
  driver?: "kvm" | "vfio";
  /** `<nat>`. */
  nat?: ForwardNat;
}

/** The `<bridge>` attributes. */
export interface NetworkBridge {
  /** Bridge device name. */
  name?: string;
  /** firewalld zone. */
  zone?: string;
  /** Spanning tree (libvirt's default is on). */
  stp: boolean;
  /** Forward delay in seconds. */
  delay: number;
  /** Who manages the bridge's MAC table. */
  macTableManager?: "kernel" | "libvirt";
}

/** One bandwidth direction (`<inbound>`, `<outbound>`): rates in KiB/s, burst in KiB. */
export interface BandwidthRate {
  /** Average rate. */
  average?: number;
  /** Peak rate. */
  peak?: number;
  /** Guaranteed minimum (inbound on a network port). */
  floor?: number;
  /** Burst size. */
  burst?: number;
}

/** `<bandwidth>`. */
export interface Bandwidth {
  /** Traffic towards the guests. */
  inbound?: BandwidthRate;
  /** Traffic from the guests. */
  outbound?: BandwidthRate;
}

/** A `<vlan>` tag. */
export interface VlanTag {
  /** VLAN id (0..4095). */
  id: number;
  /** `nativeMode` of the trunk's native VLAN. */
  nativeMode?: "tagged" | "untagged";
}

/** `<vlan>`. */
export interface Vlan {
  /** `trunk='yes'` (implied by several tags). */
  trunk: boolean;
  /** Tags, in order. */
  tags: VlanTag[];
}

/** Virtual port types (virNetDevVPortProfile). */
export const VIRTUAL_PORT_TYPES = ["802.1Qbg", "802.1Qbh", "openvswitch", "midonet"] as const;

/** `<virtualport>`. */
export interface VirtualPort {
  /** The type; absent in a portgroup that leaves it to the interface. */
  type?: typeof VIRTUAL_PORT_TYPES[number];
  /** 802.1Qbg manager id (0..255). */
  managerId?: number;
  /** 802.1Qbg type id (0..0xffffff). */
  typeId?: number;
  /** 802.1Qbg type id version (0..255). */
  typeIdVersion?: number;
  /** 802.1Qbg instance UUID. */
  instanceId?: string;
  /** Open vSwitch / MidoNet interface UUID. */
  interfaceId?: string;
  /** 802.1Qbh / Open vSwitch profile name. */
  profileId?: string;
}

/** A `<portgroup>`. */
export interface PortGroup {
  /** Name. */
  name: string;
  /** `default='yes'`. */
  isDefault: boolean;
  /** `trustGuestRxFilters`. */
  trustGuestRxFilters?: YesNo;
  /** `<vlan>`. */
  vlan?: Vlan;
  /** `<virtualport>`. */
  virtualPort?: VirtualPort;
  /** `<bandwidth>`. */
  bandwidth?: Bandwidth;
}

/** `<domain name localOnly register>`. */
export interface NetworkDomain {
  /** DNS domain of the guests. */
  name: string;
  /** Answer the domain's names locally only. */
  localOnly?: YesNo;
}

/** The dnsmasq namespace URI of `<dnsmasq:options>`. */
export const DNSMASQ_NAMESPACE_URI = "http://libvirt.org/schemas/network/dnsmasq/1.0";

/** A virtual network definition, as parsed from `<network>` XML. */
export interface NetworkDefinition {
  /** Name (no `/`). */
  name: string;
  /** UUID, lower-case, dashed. */
  uuid: string;
  /** `ipv6='yes'`: guest-to-guest IPv6 without a gateway address. */
  ipv6?: boolean;
  /** `trustGuestRxFilters`. */
  trustGuestRxFilters?: YesNo;
  /** `<metadata>` as written. */
  metadata?: XmlElement;
  /** `<forward>`; absent is an isolated network (libvirt's mode `none`). */
  forward?: NetworkForward;
  /** `<bridge>`. */
  bridge: NetworkBridge;
  /** `<mtu size>`. */
  mtu?: number;
  /** `<mac address>` of the bridge, lower-case. */
  mac?: string;
  /** `<domain>`. */
  domain?: NetworkDomain;
  /** `<dns>`. */
  dns: NetworkDns;
  /** `<vlan>`. */
  vlan?: Vlan;
  /** `<bandwidth>`. */
  bandwidth?: Bandwidth;
  /** `<port isolated>`. */
  isolatedPort?: YesNo;
  /** `<ip>`s, in order. */
  ips: NetworkIp[];
  /** `<route>`s, in order. */
  routes: NetworkRoute[];
  /** `<virtualport>`. */
  virtualPort?: VirtualPort;
  /** `<portgroup>`s, in order. */
  portGroups: PortGroup[];
  /** `<dnsmasq:options>` values, in order, passed to dnsmasq as written. */
  dnsmasqOptions?: string[];
}

/**
 * The forward mode libvirt reports: the `<forward>` mode, or `none` for an isolated network.
 *
 * @example
 * ```ts
 * import { forwardModeOf } from "./network.ts";
 * console.log(forwardModeOf({ forward: undefined })); // "none"
 * ```
 */
export function forwardModeOf(
  definition: Pick<NetworkDefinition, "forward">,
): ForwardMode | "none" {
  return definition.forward?.mode ?? "none";
}

/**
 * Whether libvirt makes and manages the network's bridge itself (isolated, nat, route, open).
 *
 * @example
 * ```ts
 * import { hasManagedBridge } from "./network.ts";
 * console.log(hasManagedBridge({ forward: undefined })); // true
 * ```
 */
export function hasManagedBridge(definition: Pick<NetworkDefinition, "forward">): boolean {
  const mode = definition.forward?.mode;
  return mode === undefined || MANAGED_FORWARD_MODES.includes(mode);
}

/**
 * The name of the bridge a completed definition runs on.
 *
 * @throws {VirtError} Code 1 when it has none (completion names every managed bridge, so this is
 *   a definition that skipped it).
 */
export function bridgeNameOf(definition: Pick<NetworkDefinition, "name" | "bridge">): string {
  const bridge = definition.bridge.name;
  if (bridge === undefined) {
    throw new VirtError(
      ErrorCode.INTERNAL_ERROR,
      `network '${definition.name}' has no bridge name`,
      { where: "/network/bridge/@name" },
    );
  }
  return bridge;
}
