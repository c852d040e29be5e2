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
import type { NetworkPort } from "../src/model/network_port.ts";
import type { Bandwidth } from "../src/model/network.ts";
import { interfaceBandwidthOf, withInterfaceBandwidth } from "../src/xml/interface_bandwidth.ts";

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

/** A guest's port on a network: the network's name and the port's uuid. */
export interface PlacedPort {
  network: string;
  portid: string;
}

/**
 * The networks' side of guests' ports, as libvirt's QEMU driver uses its network driver:
 * a port created for each `<interface type='network'>` before its tap is plugged
 * (virNetworkPortCreateXML), deleted once the guest is gone (virNetworkPortDelete).
 */
export interface NetworkPortBinder {
  /**
   * Creates and records the port on the running network `network`; answers it as allocated
   * (plug, the portgroup's bandwidth). With `reclaim` a port that names its plug is recorded
   * as given.
   *
   * @throws {VirtError} The network's refusals (43, 55, 67, 84, 106).
   */
  create(network: string, port: NetworkPort, reclaim?: boolean): Promise<NetworkPort>;
  /**
   * Replaces a port's bandwidth (virNetworkPortSetParameters, as `domiftune --live` on a
   * network interface); undefined removes it.
   *
   * @throws {VirtError} The network's refusals (107, 84 for a `floor`).
   */
  update(network: string, portid: string, bandwidth: Bandwidth | undefined): Promise<void>;
  /** Deletes ports; one already gone is skipped. */
  release(ports: readonly PlacedPort[]): Promise<void>;
  /** Every port of the running networks. */
  all(): { network: string; port: NetworkPort }[];
}

/** A started instance's definitions with its ports: the live one and the one launched. */
export interface PortedDefinitions {
  /** What the instance runs, as the live XML shows it (`<source … portid='…'>`). */
  live: DomainDefinition;
  /** What the driver is given: each port's bandwidth in place of the interface's own. */
  launched: DomainDefinition;
  /** The ports created, to release if the start fails. */
  ports: PlacedPort[];
}

/**
 * Creates the port of every `<interface type='network'>` of `definition` (resolved by
 * {@linkcode withNetworkInterfaces}), as libvirt builds it from the interface
 * (virDomainNetDefToNetworkPort: the owner, MAC, portgroup, bandwidth and rx filter trust; the
 * port's uuid the interface's `portid` where it has one). A failure deletes the ports made.
 *
 * @throws {VirtError} The interface's `<bandwidth>` errors; the network's refusals.
 *
 * @example
 * ```ts ignore
 * const { live, launched, ports } = await withNetworkPorts(resolved, { uuid, name }, binder);
 * ```
 */
export async function withNetworkPorts(
  definition: DomainDefinition,
  owner: { uuid: string; name: string },
  binder: NetworkPortBinder,
): Promise<PortedDefinitions> {
  const interfaces = definition.devices.interfaces;
  if (!interfaces.some((nic) => nic.type === "network")) {
    return { live: definition, launched: definition, ports: [] };
  }
  const live: NetInterface[] = [];
  const launched: NetInterface[] = [];
  const ports: PlacedPort[] = [];
  try {
    for (const [index, nic] of interfaces.entries()) {
      const network = nic.source?.network;
      if (nic.type !== "network" || network === undefined) {
        live.push(nic);
        launched.push(nic);
        continue;
      }
      const plugged = await plugPort(nic, network, owner, index, binder);
      ports.push({ network, portid: plugged.port.uuid });
      live.push(plugged.live);
      launched.push(plugged.launched);
    }
  } catch (error) {
    await binder.release(ports).catch(() => {});
    throw error;
  }
  const devicesOf = (list: NetInterface[]) => ({
    ...definition,
    devices: { ...definition.devices, interfaces: list },
  });
  return { live: devicesOf(live), launched: devicesOf(launched), ports };
}

/**
 * Creates the port of one network interface (at start, or hotplugged): the interface as it
 * runs (`portid` and the plug's bridge in `<source>`) and as the driver gets it (the port's
 * bandwidth).
 *
 * @throws {VirtError} As {@linkcode withNetworkPorts}.
 */
export async function plugPort(
  nic: NetInterface,
  network: string,
  owner: { uuid: string; name: string },
  index: number,
  binder: NetworkPortBinder,
): Promise<{ live: NetInterface; launched: NetInterface; port: NetworkPort }> {
  const port = await binder.create(network, portOf(nic, owner, index));
  const live = { ...nic, source: sourceWithPort(nic.source ?? {}, port) };
  return { live, launched: withInterfaceBandwidth(live, port.bandwidth), port };
}

/** The port libvirt builds from a guest's network interface (virDomainNetDefToNetworkPort). */
export function portOf(
  nic: NetInterface,
  owner: { uuid: string; name: string },
  index: number,
): NetworkPort {
  const bandwidth = interfaceBandwidthOf(nic, `/domain/devices/interface[${index + 1}]`);
  const group = nic.source?.portgroup;
  const trust = nic.trustGuestRxFilters;
  return {
    uuid: nic.source?.portid?.toLowerCase() ?? crypto.randomUUID(),
    ownerName: owner.name,
    ownerUuid: owner.uuid.toLowerCase(),
    ...(group === undefined ? {} : { group }),
    mac: (nic.mac ?? "").toLowerCase(),
    ...(bandwidth === undefined ? {} : { bandwidth }),
    ...(trust === "yes" || trust === "no" ? { trustGuestRxFilters: trust } : {}),
  };
}

/** `<source>` as libvirt writes it for a running interface: network, portgroup, portid, bridge. */
function sourceWithPort(
  source: Record<string, string>,
  port: NetworkPort,
): Record<string, string> {
  const { network, portgroup, portid: _old, bridge, ...rest } = source;
  const plugged = port.plug?.bridge ?? bridge;
  return {
    ...(network === undefined ? {} : { network }),
    ...(portgroup === undefined ? {} : { portgroup }),
    portid: port.uuid,
    ...(plugged === undefined ? {} : { bridge: plugged }),
    ...rest,
  };
}

/**
 * The ports a running (or launching) instance's definition names: its network interfaces'
 * `portid`s.
 */
export function portsNamedBy(definition: DomainDefinition | null | undefined): PlacedPort[] {
  return (definition?.devices.interfaces ?? []).flatMap((nic) => {
    const network = nic.source?.network;
    const portid = nic.source?.portid?.toLowerCase();
    return nic.type === "network" && network !== undefined && portid !== undefined
      ? [{ network, portid }]
      : [];
  });
}

/** A domain as the reconciliation of ports sees it. */
export interface PortHolder {
  uuid: string;
  name: string;
  /** Whether its instance holds its ports (it runs, or its launch is pending). */
  holds: boolean;
  /** The definition its instance runs (or is launching) with. */
  definition: DomainDefinition | null;
}

/**
 * Brings the networks' ports in line with the domains after a restart, as libvirt's
 * reconnection does (virDomainNetNotifyActualDevice): a port whose owner is one of `domains`
 * that no longer holds it (stopped, or a start that died between the port and the launch) is
 * deleted; a port a running domain names that its network lost is created again with its plug
 * (reclaim). Ports of owners the host does not know (made with `net-port-create`) are left.
 *
 * @returns What was done, a line each, for the service's log.
 */
export async function reconcileNetworkPorts(
  domains: readonly PortHolder[],
  binder: NetworkPortBinder,
): Promise<string[]> {
  const done: string[] = [];
  const byUuid = new Map(domains.map((domain) => [domain.uuid.toLowerCase(), domain]));
  const existing = binder.all();
  const stale: PlacedPort[] = [];
  for (const { network, port } of existing) {
    const owner = byUuid.get(port.ownerUuid);
    if (owner === undefined) continue;
    const named = owner.holds &&
      portsNamedBy(owner.definition).some((each) => each.portid === port.uuid);
    if (!named) stale.push({ network, portid: port.uuid });
  }
  if (stale.length > 0) {
    await binder.release(stale);
    for (const { network, portid } of stale) {
      done.push(`network '${network}': port ${portid} of a guest that no longer runs deleted`);
    }
  }
  const known = new Set(existing.map(({ port }) => port.uuid));
  for (const domain of domains) {
    if (!domain.holds || domain.definition === null) continue;
    for (const [index, nic] of domain.definition.devices.interfaces.entries()) {
      const portid = nic.source?.portid?.toLowerCase();
      const network = nic.source?.network;
      const bridge = nic.source?.bridge;
      if (nic.type !== "network" || portid === undefined || network === undefined) continue;
      if (known.has(portid) || bridge === undefined) continue;
      const port: NetworkPort = {
        ...portOf(nic, domain, index),
        plug: { type: "network", bridge },
      };
      try {
        await binder.create(network, port, true);
        done.push(
          `network '${network}': port ${portid} of running guest '${domain.name}' reclaimed`,
        );
      } catch (error) {
        done.push(
          `network '${network}': port ${portid} of running guest '${domain.name}' cannot be reclaimed: ${
            (error as Error).message
          }`,
        );
      }
    }
  }
  return done;
}
