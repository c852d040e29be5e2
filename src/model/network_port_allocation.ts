/**
 * A port's allocation on a running network, as libvirt 9.0's network driver allocates one
 * (networkAllocatePort): the portgroup's bandwidth, VLAN and rx filter trust where the port has
 * none, the network's VLAN, trust and isolation next, then the plug — the network's own bridge
 * for `nat`, `route`, `open` and isolated networks, the host bridge for `bridge` mode — and the
 * bandwidth check (`floor`). Nothing on the host changes: the guest's driver makes the tap.
 * Pure: the caller records the result.
 *
 * @module
 */

import { ErrorCode, VirtError } from "./errors.ts";
import { forwardModeOf, hasManagedBridge, type NetworkDefinition } from "./network.ts";
import type { NetworkPort } from "./network_port.ts";

/**
 * The port as allocated on `network` (which runs).
 *
 * @throws {VirtError} libvirt's codes and messages: 67 for a virtualport on a network that
 *   routes, 84 for a `floor` the network cannot honour; 67 where evirt does not follow
 *   (macvtap and hostdev pools, virtualports, floors needing tc classes on the bridge).
 *
 * @example
 * ```ts ignore
 * const allocated = allocateNetworkPort(definition, port);
 * console.log(allocated.plug); // { type: "network", bridge: "virbr0" }
 * ```
 */
export function allocateNetworkPort(network: NetworkDefinition, port: NetworkPort): NetworkPort {
  const allocated: NetworkPort = { ...port };
  const group = port.group === undefined
    ? undefined
    : network.portGroups.find((each) => each.name === port.group);
  if (allocated.bandwidth === undefined && group?.bandwidth !== undefined) {
    allocated.bandwidth = structuredClone(group.bandwidth);
  }
  if (allocated.vlan === undefined) {
    const vlan = group?.vlan ?? network.vlan;
    if (vlan !== undefined) allocated.vlan = structuredClone(vlan);
  }
  if (allocated.trustGuestRxFilters === undefined) {
    const trust = group?.trustGuestRxFilters ?? network.trustGuestRxFilters;
    if (trust !== undefined) allocated.trustGuestRxFilters = trust;
  }
  if (allocated.isolatedPort === undefined && network.isolatedPort !== undefined) {
    allocated.isolatedPort = network.isolatedPort;
  }
  const virtualPort = network.virtualPort ?? group?.virtualPort;
  const mode = forwardModeOf(network);
  const bridge = network.bridge.name;
  const macTableManager = network.bridge.macTableManager;
  if (hasManagedBridge(network) && bridge !== undefined) {
    if (virtualPort?.type !== undefined) {
      throw new VirtError(
        ErrorCode.CONFIG_UNSUPPORTED,
        `<virtualport type='${virtualPort.type}'> not supported for network '${network.name}' which uses IP forwarding`,
      );
    }
    allocated.plug = {
      type: "network",
      bridge,
      ...(macTableManager === undefined ? {} : { macTableManager }),
    };
  } else if (mode === "bridge" && bridge !== undefined) {
    if (virtualPort !== undefined) {
      throw new VirtError(
        ErrorCode.CONFIG_UNSUPPORTED,
        `network '${network.name}' has a <virtualport>, which evirt's network ports do not carry`,
      );
    }
    allocated.plug = {
      type: "bridge",
      bridge,
      ...(macTableManager === undefined ? {} : { macTableManager }),
    };
  } else {
    throw new VirtError(
      ErrorCode.CONFIG_UNSUPPORTED,
      `ports of network '${network.name}' (forward mode '${mode}') need a device pool, which evirt does not run`,
    );
  }
  checkFloor(network, allocated);
  return allocated;
}

/**
 * Refuses a port's `floor` as libvirt does where the network cannot honour it (84), and where
 * libvirt would add a traffic class on the bridge, which evirt does not (67).
 *
 * @throws {VirtError} As above; nothing for a port without a floor.
 */
export function checkFloor(network: NetworkDefinition, port: NetworkPort): void {
  if (port.bandwidth?.inbound?.floor === undefined) return;
  if (!hasManagedBridge(network)) {
    throw new VirtError(
      ErrorCode.OPERATION_UNSUPPORTED,
      `Invalid use of 'floor' on interface with MAC address ${port.mac} - 'floor' is only supported for interface type 'network' with forward type 'nat', 'route', 'open' or none`,
    );
  }
  if (network.bandwidth?.inbound === undefined) {
    throw new VirtError(
      ErrorCode.OPERATION_UNSUPPORTED,
      `Invalid use of 'floor' on interface with MAC address ${port.mac} - network '${network.name}' has no inbound QoS set`,
    );
  }
  throw new VirtError(
    ErrorCode.CONFIG_UNSUPPORTED,
    `a 'floor' on a port of network '${network.name}' needs traffic classes on its bridge, which evirt does not make`,
  );
}
