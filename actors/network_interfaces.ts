/**
 * Domain interfaces on evirt's networks at start and hotplug, as libvirt's network port
 * allocation does for a driver that runs them on a bridge: `<interface type='network'>` gets
 * the network's bridge (`<source network='…' bridge='…'/>` in the live XML; libvirt's errors for
 * a network that does not exist or does not run), and every `network` or `bridge` interface a
 * tap name (`<target dev='vnet7n0'/>`, see `src/model/tap_names.ts`) unless it names its own.
 *
 * @module
 */

import type { DomainDefinition, NetInterface } from "../src/model/domain.ts";
import { ErrorCode, VirtError } from "../src/model/errors.ts";
import { isBridgedInterface, nextTapName } from "../src/model/tap_names.ts";

/** The bridge a network's guests join (throws libvirt's errors: code 43, 55, 67). */
export type NetworkResolver = (network: string) => { bridge: string };

/**
 * One interface as it runs: its network's bridge and its tap name. Interfaces of other types
 * are returned as they are.
 *
 * @param others The instance's other interfaces (their tap names are not given again).
 * @throws {VirtError} Code 67 for a `network` interface without a network name or a host
 *   without networks; the resolver's errors.
 *
 * @example
 * ```ts
 * import { runningInterface } from "./network_interfaces.ts";
 * const nic = runningInterface({ type: "network", source: { network: "default" } }, 3, [], () => ({ bridge: "virbr0" }));
 * console.log(nic.source?.bridge, nic.target?.dev); // virbr0 vnet3n0
 * ```
 */
export function runningInterface(
  nic: NetInterface,
  id: number,
  others: readonly NetInterface[],
  resolve: NetworkResolver | undefined,
): NetInterface {
  if (!isBridgedInterface(nic)) return nic;
  let source = nic.source;
  if (nic.type === "network") {
    const network = nic.source?.network;
    if (network === undefined || resolve === undefined) {
      throw new VirtError(
        ErrorCode.CONFIG_UNSUPPORTED,
        network === undefined
          ? "an interface of type 'network' needs a source network"
          : `network '${network}': this host has no networks`,
      );
    }
    const { bridge: _recorded, ...rest } = nic.source ?? {};
    source = { ...rest, bridge: resolve(network).bridge };
  }
  const dev = nic.target?.dev ?? nextTapName(id, others);
  return {
    ...nic,
    ...(source === undefined ? {} : { source }),
    target: { ...nic.target, dev },
  };
}

/**
 * The definition an instance runs: every `network` and `bridge` interface resolved by
 * {@linkcode runningInterface}. The definition itself when it has none (no copy).
 *
 * @throws {VirtError} What {@linkcode runningInterface} throws.
 *
 * @example
 * ```ts ignore
 * const live = withNetworkInterfaces(definition, id, (network) => ({ bridge: "virbr0" }));
 * ```
 */
export function withNetworkInterfaces(
  definition: DomainDefinition,
  id: number,
  resolve: NetworkResolver | undefined,
): DomainDefinition {
  const interfaces = definition.devices.interfaces;
  if (!interfaces.some(isBridgedInterface)) return definition;
  const running: NetInterface[] = [];
  for (const nic of interfaces) {
    running.push(runningInterface(nic, id, [...running, ...interfaces], resolve));
  }
  return { ...definition, devices: { ...definition.devices, interfaces: running } };
}
