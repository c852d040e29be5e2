/**
 * `net-dhcp-leases`: see `../network_verbs.ts`, where the network verbs share their lookups and
 * layouts.
 *
 * @module
 */

export { netDhcpLeasesVerb } from "../network_verbs.ts";
