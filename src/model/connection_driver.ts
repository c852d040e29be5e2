/**
 * Which hypervisor driver a connection speaks to, as libvirt's URIs name it: evirt serves
 * every driver from one service, and a connection opened on a driver's URI sees only that
 * driver's domains (`lxc:///system`: containers). Over the HTTP API the evirt CLI names the
 * driver in the {@linkcode DRIVER_HEADER} of each request; without it a request sees every
 * domain.
 *
 * @module
 */

/** The request header naming the connection's driver (`lxc`, `qemu`). */
export const DRIVER_HEADER = "x-evirt-driver";

/** URIs of a driver's connection to the service, and the driver each names. */
export const DRIVER_URIS: ReadonlyMap<string, string> = new Map([
  ["lxc:///system", "lxc"],
  ["lxc:///", "lxc"],
]);
