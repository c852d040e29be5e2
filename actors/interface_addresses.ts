/**
 * A running domain's interface addresses from its networks' DHCP leases (`virsh domifaddr
 * --source lease`, libvirt's `qemuGetDHCPInterfaces`): every `<interface type='network'>` whose
 * MAC address holds leases on its network, named by its tap; interfaces without a lease are
 * left out, as libvirt leaves them.
 *
 * @module
 */

import type { DomainDefinition } from "../src/model/domain.ts";
import { ErrorCode, VirtError } from "../src/model/errors.ts";
import type { Networks } from "./networks.ts";

/** One interface and its addresses (`virDomainInterface`). */
export interface InterfaceAddresses {
  /** The host-side device (the tap). */
  name: string;
  hwaddr: string;
  addrs: { type: "ipv4" | "ipv6"; addr: string; prefix: number }[];
}

/** `VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_*` by virsh's names. */
export const ADDRESS_SOURCES = { lease: 0, agent: 1, arp: 2 } as const;

/** A source of interface addresses. */
export type AddressSource = keyof typeof ADDRESS_SOURCES;

/**
 * The addresses of a running domain's interfaces, from `source`.
 *
 * @param live The running instance's definition; undefined when the domain is not running.
 * @throws {VirtError} 55 `domain is not running`; 84 for the `agent` and `arp` sources, which
 *   evirt does not answer; the networks' errors (43 for a network that is gone).
 *
 * @example
 * ```ts ignore
 * const interfaces = await interfaceAddresses(inspection.handle?.definition, networks, "lease");
 * ```
 */
export async function interfaceAddresses(
  live: DomainDefinition | undefined,
  networks: Networks | undefined,
  source: AddressSource,
): Promise<InterfaceAddresses[]> {
  if (live === undefined) {
    throw new VirtError(ErrorCode.OPERATION_INVALID, "domain is not running");
  }
  if (source !== "lease") {
    throw new VirtError(
      ErrorCode.OPERATION_UNSUPPORTED,
      `interface addresses from the '${source}' source are not supported by evirt`,
    );
  }
  const result: InterfaceAddresses[] = [];
  for (const nic of live.devices.interfaces) {
    const network = nic.source?.network;
    if (nic.type !== "network" || network === undefined || nic.mac === undefined) continue;
    if (networks === undefined) {
      throw new VirtError(ErrorCode.NO_NETWORK, `no network with matching name '${network}'`);
    }
    const { uuid } = networks.summary(networks.byName(network));
    const leases = await networks.leases(uuid, nic.mac);
    if (leases.length === 0) continue;
    result.push({
      name: nic.target?.dev ?? "",
      hwaddr: nic.mac,
      addrs: leases.map((lease) => ({
        type: lease.type,
        addr: lease.ipaddr,
        prefix: lease.prefix,
      })),
    });
  }
  return result;
}
