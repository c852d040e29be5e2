/**
 * The network links of the service's namespace, as sysfs lists them: read by the network
 * runtime (bridges) and the QEMU driver (taps).
 *
 * @module
 */

/**
 * Whether a link of this name exists in the namespace; `name/bridge` or `name/tun_flags` asks
 * whether it is a bridge or a tun/tap device.
 *
 * @example
 * ```ts
 * import { linkExists } from "./net_links.ts";
 * console.log(linkExists("lo")); // true where sysfs is mounted
 * ```
 */
export function linkExists(name: string): boolean {
  try {
    Deno.statSync(`/sys/class/net/${name}`);
    return true;
  } catch {
    return false;
  }
}
