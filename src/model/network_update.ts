/**
 * `virNetworkUpdate`'s vocabulary: its commands and sections by number, with virsh's names, its
 * flags, and one update as the API takes it. The update itself is `src/xml/network_update.ts`.
 *
 * @module
 */

/** `virNetworkUpdateCommand`, by number. */
export const NETWORK_UPDATE_COMMANDS = {
  none: 0,
  modify: 1,
  delete: 2,
  "add-last": 3,
  "add-first": 4,
} as const;

/** A `virNetworkUpdateCommand` name, as virsh spells it. */
export type NetworkUpdateCommand = keyof typeof NETWORK_UPDATE_COMMANDS;

/** `virNetworkUpdateSection`, by number, with virsh's names. */
export const NETWORK_UPDATE_SECTIONS = {
  none: 0,
  bridge: 1,
  domain: 2,
  ip: 3,
  "ip-dhcp-host": 4,
  "ip-dhcp-range": 5,
  forward: 6,
  "forward-interface": 7,
  "forward-pf": 8,
  portgroup: 9,
  "dns-host": 10,
  "dns-txt": 11,
  "dns-srv": 12,
} as const;

/** A `virNetworkUpdateSection` name, as virsh spells it. */
export type NetworkUpdateSection = keyof typeof NETWORK_UPDATE_SECTIONS;

/** `VIR_NETWORK_UPDATE_AFFECT_LIVE`. */
export const NETWORK_UPDATE_AFFECT_LIVE = 1;

/** `VIR_NETWORK_UPDATE_AFFECT_CONFIG`. */
export const NETWORK_UPDATE_AFFECT_CONFIG = 2;

/** One update, as `virNetworkUpdate` takes it. */
export interface NetworkUpdate {
  /** `virNetworkUpdateCommand` number. */
  command: number;
  /** `virNetworkUpdateSection` number. */
  section: number;
  /** Which `<ip>` (counted from 0, every family); -1: the one with DHCP. */
  parentIndex: number;
  /** The element to add, modify, or match for deletion. */
  xml: string;
}
