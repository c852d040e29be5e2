/**
 * The running libvirtd 9.0 (`qemu:///system`) as an oracle: whether it answers here, and a
 * virsh runner bound to it. Tests that define objects in it use names starting with
 * {@linkcode ORACLE_PREFIX} and remove them in their cleanup.
 *
 * @module
 */

import { missing } from "./environment.ts";
import { runVirsh, type VirshRun } from "./virsh.ts";

/** libvirtd's read-write socket. */
export const LIBVIRTD_SOCKET = "/run/libvirt/libvirt-sock";

/** The URI of the system libvirtd. */
export const LIBVIRTD_URI = "qemu:///system";

/** Prefix of every object a test defines in libvirtd. */
export const ORACLE_PREFIX = "evirt-oracle-";

/** Why libvirtd cannot be asked here, or undefined when it can. */
export const libvirtdSkipReason: string | undefined = missing("virsh", LIBVIRTD_SOCKET);

/** Runs virsh against the system libvirtd. */
export function oracleVirsh(args: string[]): Promise<VirshRun> {
  return runVirsh(LIBVIRTD_URI, args);
}

/** The URI of the system libvirtd's LXC driver. */
export const LIBVIRTD_LXC_URI = "lxc:///system";

/** libvirt's LXC connection driver (Debian's `libvirt-daemon-driver-lxc`). */
const LXC_DRIVER_MODULE =
  "/usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_lxc.so";

/** Why libvirtd's LXC driver cannot be asked here, or undefined when it can. */
export const lxcOracleSkipReason: string | undefined = missing(
  "virsh",
  LIBVIRTD_SOCKET,
  LXC_DRIVER_MODULE,
);

/** Runs virsh against the system libvirtd's LXC driver. */
export function lxcOracleVirsh(args: string[]): Promise<VirshRun> {
  return runVirsh(LIBVIRTD_LXC_URI, args);
}
