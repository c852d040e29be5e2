/**
 * A virtual network port (libvirt's virNetworkPortDef): the network's record of one guest
 * interface plugged into it — who owns it, its MAC, the QoS, VLAN and isolation it gets, and
 * where it plugs (`<plug>`). Ports exist only while their network runs; they are facts of the
 * network's stream (`network.port_created`, `network.port_deleted`).
 *
 * @module
 */

import type { Bandwidth, Vlan, YesNo } from "./network.ts";

/** `REMOTE_NETWORK_PORT_LIST_MAX`: the most ports one network holds. */
export const NETWORK_PORTS_MAX = 16_384;

/** Longest port XML accepted, in bytes. */
export const NETWORK_PORT_XML_MAX_BYTES = 256 * 1024;

/** Where a port plugs in: a managed network's bridge or a host bridge. */
export interface NetworkPortPlug {
  /** `network` (a bridge the network manages) or `bridge` (a host bridge). */
  type: "network" | "bridge";
  /** The bridge device. */
  bridge: string;
  /** Who manages the bridge's MAC table, where set. */
  macTableManager?: "kernel" | "libvirt";
}

/** One network port. */
export interface NetworkPort {
  /** The port's uuid (lower case). */
  uuid: string;
  /** The owning guest's name. */
  ownerName: string;
  /** The owning guest's uuid (lower case). */
  ownerUuid: string;
  /** The portgroup it belongs to. */
  group?: string;
  /** Its MAC address, as libvirt writes it (lower case). */
  mac: string;
  /** `<bandwidth>`. */
  bandwidth?: Bandwidth;
  /** `<vlan>`. */
  vlan?: Vlan;
  /** `<port isolated>`. */
  isolatedPort?: YesNo;
  /** `<rxfilters trustGuest>`. */
  trustGuestRxFilters?: YesNo;
  /** Where it plugs; absent until allocated. */
  plug?: NetworkPortPlug;
}
