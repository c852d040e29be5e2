/**
 * The fleet host a migration's destination names: a host's name itself (`west`), or a URI
 * whose host part is one (`evirt://west/system`, `qemu+ssh://west/system`), as `migrate` and
 * libvirt's peer-to-peer `virDomainMigrateToURI3` take it.
 *
 * @module
 */

/**
 * The host `destination` names; undefined when it is a URI without a host part.
 *
 * @example
 * ```ts
 * import { fleetHostOf } from "./fleet_host_uri.ts";
 * console.log(fleetHostOf("west"), fleetHostOf("qemu+ssh://west/system")); // "west" "west"
 * ```
 */
export function fleetHostOf(destination: string): string | undefined {
  if (!destination.includes("://")) return destination === "" ? undefined : destination;
  const host = URL.parse(destination.replace(/^[a-z0-9+.-]+:/i, "http:"))?.hostname ?? "";
  return host === "" ? undefined : host;
}
