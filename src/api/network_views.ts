/**
 * The JSON view of a virtual network the API answers and the client reads.
 *
 * @module
 */

export type { NetworkLeaseView } from "../../actors/networks.ts";
export type { InterfaceAddresses } from "../../actors/interface_addresses.ts";

/** A network as lists, lookups and actions answer it. */
export interface NetworkView {
  uuid: string;
  name: string;
  active: boolean;
  persistent: boolean;
  autostart: boolean;
  /** The bridge's name, where the network has one. */
  bridge?: string;
}
