/**
 * Define-time completion and checks of a network definition, as libvirt 9.0's network driver
 * does them when a network is defined or created (networkValidate): a bridge name `virbrN`
 * for the modes libvirt manages (the lowest N no other network and no host link uses), a
 * bridge MAC in the `52:54:00` range, and the refusals of what a mode cannot carry.
 *
 * It is pure: what is "in use" comes in as arguments, the new definition goes out, and the
 * input is never changed.
 *
 * @module
 */

import { ErrorCode, VirtError } from "./errors.ts";
import { randomMac } from "./mac_address.ts";
import { forwardModeOf, hasManagedBridge, type NetworkDefinition } from "./network.ts";

/** The highest N of an automatic `virbrN` name (libvirt's MAX_BRIDGE_ID). */
export const BRIDGE_ID_MAX = 256;

/** What the world already holds, for {@linkcode completeNetworkDefinition}. */
export interface NetworkCompletionContext {
  /**
   * The other networks' names and bridge names (of their current and next definitions). A
   * network of the same name is the one being redefined and does not count.
   */
  otherNetworks: readonly { name: string; bridge?: string }[];
  /** Whether a host network device of this name exists (skipped when picking `virbrN`). */
  hostLinkExists?: (name: string) => boolean;
  /** Makes a new bridge MAC. Default a random `52:54:00:xx:xx:xx`. */
  generateMac?: () => string;
}

/**
 * Completes and checks a network definition at define time, as libvirt 9.0 does.
 *
 * @param definition The parsed definition (not changed).
 * @param context The bridge names in use and how to make a MAC.
 * @returns A new definition with the bridge name and MAC filled in where libvirt fills them.
 * @throws {VirtError} Code 1 for a bridge name in use (or none free), 67 for what the forward
 *   mode does not support, with where it is.
 *
 * @example
 * ```ts
 * import { completeNetworkDefinition } from "./network_defaults.ts";
 * const done = completeNetworkDefinition({
 *   name: "n", uuid: "81ff0d90-c91e-6742-64da-4a736edb9a9b", bridge: { stp: true, delay: 0 },
 *   dns: { forwarders: [], txts: [], srvs: [], hosts: [] }, ips: [], routes: [], portGroups: [],
 * }, { otherNetworks: [{ name: "default", bridge: "virbr0" }], generateMac: () => "52:54:00:00:00:01" });
 * console.log(done.bridge.name, done.mac); // "virbr1" "52:54:00:00:00:01"
 * ```
 */
export function completeNetworkDefinition(
  definition: NetworkDefinition,
  context: NetworkCompletionContext,
): NetworkDefinition {
  const result: NetworkDefinition = structuredClone(definition);
  const mode = forwardModeOf(result);
  if (result.name.includes("\n")) {
    throw new VirtError(ErrorCode.XML_DETAIL, "invalid char in name: \n", {
      where: "/network/name",
    });
  }
  if (hasManagedBridge(result)) {
    result.bridge.name = bridgeName(result, context);
    result.mac ??= (context.generateMac ?? randomMac)();
  } else {
    refuseHostSideSettings(result, mode);
  }
  const bandwidthAllowed = hasManagedBridge(result) ||
    (mode === "bridge" && result.bridge.name !== undefined);
  if (result.bandwidth !== undefined && !bandwidthAllowed) {
    unsupported(
      `Unsupported network-wide <bandwidth> element in network ${result.name} with forward mode='${mode}'`,
      "/network/bandwidth",
    );
  }
  checkForwardPool(result, mode);
  checkDhcpSections(result);
  checkPortGroups(result, mode, bandwidthAllowed);
  return result;
}

function unsupported(message: string, where: string): never {
  throw new VirtError(ErrorCode.CONFIG_UNSUPPORTED, message, { where });
}

function bridgeName(definition: NetworkDefinition, context: NetworkCompletionContext): string {
  const inUse = (name: string): boolean =>
    context.otherNetworks.some((other) => other.name !== definition.name && other.bridge === name);
  const given = definition.bridge.name;
  if (given !== undefined && !given.includes("%d")) {
    if (inUse(given)) {
      throw new VirtError(ErrorCode.INTERNAL_ERROR, `bridge name '${given}' already in use.`, {
        where: "/network/bridge/@name",
      });
    }
    return given;
  }
  const template = given ?? "virbr%d";
  for (let id = 0; id <= BRIDGE_ID_MAX; id++) {
    const name = template.replace("%d", String(id));
    if (!inUse(name) && !(context.hostLinkExists?.(name) ?? false)) return name;
  }
  throw new VirtError(
    ErrorCode.INTERNAL_ERROR,
    `Bridge generation exceeded max id ${BRIDGE_ID_MAX}`,
    { where: "/network/bridge/@name" },
  );
}

function refuseHostSideSettings(definition: NetworkDefinition, mode: string): void {
  const name = definition.name;
  const suffix = `in network ${name} with forward mode='${mode}'`;
  if (definition.mac !== undefined) {
    unsupported(`Unsupported <mac> element ${suffix}`, "/network/mac");
  }
  if (definition.ips.length > 0) unsupported(`Unsupported <ip> element ${suffix}`, "/network/ip");
  const dns = definition.dns;
  if (dns.txts.length > 0 || dns.hosts.length > 0 || dns.srvs.length > 0) {
    unsupported(`Unsupported <dns> element ${suffix}`, "/network/dns");
  }
  if (definition.domain !== undefined) {
    unsupported(`Unsupported <domain> element ${suffix}`, "/network/domain");
  }
}

function checkForwardPool(definition: NetworkDefinition, mode: string): void {
  const forward = definition.forward;
  if (forward === undefined) return;
  if (mode === "hostdev" && forward.interfaces.length > 0) {
    unsupported(
      `hostdev network '${definition.name}' lists '${
        forward.interfaces[0]
      }' in the device pool, but hostdev networks require all devices to be listed by PCI address, not network device name`,
      "/network/forward/interface",
    );
  }
  if (mode !== "hostdev" && forward.addresses.length > 0) {
    unsupported(
      `network '${definition.name}' has forward mode '${mode}'  but lists a device by PCI address in the device pool. This is only supported for networks with forward mode 'hostdev'`,
      "/network/forward/address",
    );
  }
  const kinds = Number(forward.pf !== undefined) + Number(forward.interfaces.length > 0) +
    Number(forward.addresses.length > 0);
  if (kinds > 1) {
    unsupported(
      `<address>, <interface>, and <pf> elements of <forward> in network ${definition.name} are mutually exclusive`,
      "/network/forward",
    );
  }
}

function checkDhcpSections(definition: NetworkDefinition): void {
  const seen = new Set<string>();
  definition.ips.forEach((ip, index) => {
    const dhcp = ip.dhcp;
    if (dhcp === undefined || (dhcp.ranges.length === 0 && dhcp.hosts.length === 0)) return;
    const family = ip.address.includes(":") ? "IPv6" : "IPv4";
    if (seen.has(family)) {
      unsupported(
        `Multiple ${family} dhcp sections found -- dhcp is supported only for a single ${family} address on each network`,
        `/network/ip[${index + 1}]/dhcp`,
      );
    }
    seen.add(family);
  });
}

function checkPortGroups(
  definition: NetworkDefinition,
  mode: string,
  bandwidthAllowed: boolean,
): void {
  const vlanAllowed = mode === "hostdev" || mode === "passthrough" ||
    (mode === "bridge" && definition.virtualPort?.type === "openvswitch");
  const vlanUsed = definition.vlan !== undefined && definition.vlan.tags.length > 0;
  let badVlanUse = false;
  let defaultGroup: string | undefined;
  definition.portGroups.forEach((group, index) => {
    const where = `/network/portgroup[${index + 1}]`;
    if (vlanUsed || (group.vlan !== undefined && group.vlan.tags.length > 0)) {
      if (group.virtualPort !== undefined) {
        if (mode !== "bridge" || group.virtualPort.type !== "openvswitch") badVlanUse = true;
      } else if (!vlanAllowed) {
        badVlanUse = true;
      }
    }
    if (group.isDefault) {
      if (defaultGroup !== undefined) {
        unsupported(
          `network '${definition.name}' has multiple default <portgroup> elements (${defaultGroup} and ${group.name}), but only one default is allowed`,
          where,
        );
      }
      defaultGroup = group.name;
    }
    if (definition.portGroups.slice(index + 1).some((other) => other.name === group.name)) {
      unsupported(
        `multiple <portgroup> elements with the same name (${group.name}) in network '${definition.name}'`,
        where,
      );
    }
    if (group.bandwidth !== undefined && !bandwidthAllowed) {
      unsupported(
        `Unsupported <bandwidth> element in network '${definition.name}' in portgroup '${group.name}' with forward mode='${mode}'`,
        `${where}/bandwidth`,
      );
    }
  });
  if (badVlanUse || (vlanUsed && !vlanAllowed && defaultGroup === undefined)) {
    unsupported(
      `<vlan> element specified for network ${definition.name}, whose type doesn't support vlan configuration`,
      "/network/vlan",
    );
  }
  if (mode === "hostdev") {
    definition.portGroups.forEach((group, index) => {
      if (group.bandwidth === undefined) return;
      unsupported(
        `unsupported <bandwidth> element in <portgroup name='${group.name}'> of network '${definition.name}' with forward mode='${mode}'`,
        `/network/portgroup[${index + 1}]/bandwidth`,
      );
    });
  }
}

/**
 * The forward modes evirt can run: the bridge modes (isolated, nat, route, open) on a bridge of
 * its own, and `bridge` on an existing host bridge. macvtap (`private`, `vepa`, `passthrough`)
 * and SR-IOV (`hostdev`) pools are defined as libvirt defines them but not started.
 */
export const RUNNABLE_FORWARD_MODES = ["none", "nat", "route", "open", "bridge"] as const;

/**
 * Refuses, at start, a network evirt cannot run: a forward mode it does not implement, or a
 * `bridge` network with no bridge to join (libvirt takes such a network as a macvtap pool and
 * refuses it when a guest connects, with the message used here).
 *
 * @throws {VirtError} Code 67 for an unimplemented mode, 1 for a bridge network without bridge.
 *
 * @example
 * ```ts
 * import { checkNetworkRunnable } from "./network_defaults.ts";
 * try {
 *   checkNetworkRunnable({ name: "n", forward: { mode: "vepa", interfaces: ["eth1"], addresses: [], managed: false }, bridge: { stp: true, delay: 0 } });
 * } catch (error) {
 *   console.log((error as Error).message); // "network 'n' uses forward mode 'vepa', which evirt does not support"
 * }
 * ```
 */
export function checkNetworkRunnable(
  definition: Pick<NetworkDefinition, "name" | "forward" | "bridge">,
): void {
  const mode = forwardModeOf(definition);
  if (!(RUNNABLE_FORWARD_MODES as readonly string[]).includes(mode)) {
    unsupported(
      `network '${definition.name}' uses forward mode '${mode}', which evirt does not support`,
      "/network/forward/@mode",
    );
  }
  if (mode === "bridge" && definition.bridge.name === undefined) {
    throw new VirtError(
      ErrorCode.INTERNAL_ERROR,
      `network '${definition.name}' uses a direct mode, but has no forward dev and no interface pool`,
      { where: "/network/bridge" },
    );
  }
}
