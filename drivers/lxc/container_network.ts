/**
 * A container's network interfaces, as libvirt's LXC driver makes them: one veth pair per
 * `<interface type='network'|'bridge'|'ethernet'>`. The host end (`<target dev>`) joins the
 * bridge (the network's, or the named one; none for `ethernet`) and comes up; the container end
 * gets the interface's MAC address, moves into the container's network namespace, is renamed
 * to its `<guest dev>` (`eth0`, `eth1`, … in document order for those without one) and given
 * its `<ip>` addresses and `<route>`s; the loopback comes up with it.
 *
 * The names are planned before anything is made (the runtime record lists the host ends, so a
 * recovery removes what a crash left); the container end has a temporary name of the instance's
 * (`vnet<id>g<n>`) while it is still in the host's namespace. When the container's namespace ends the kernel
 * removes both ends; {@linkcode removeLinks} removes whatever is left in the host's namespace.
 *
 * Everything goes through `ip` (netlink, so it answers for the caller's network namespace), two
 * processes per start: one `ip -batch` in the host's namespace, one in the container's.
 *
 * @module
 */

import type { InterfaceSample } from "../../actors/driver_protocol.ts";
import type {
  DomainDefinition,
  GuestIp,
  GuestRoute,
  NetInterface,
} from "../../src/model/domain.ts";
import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import { tapNamePrefix } from "../../src/model/tap_names.ts";

/** Most interfaces one container may have. */
export const LINKS_MAX = 64;

/** How long one `ip -batch` may take, in ms. */
const IP_TIMEOUT_MS = 10_000;

/** Largest output of `ip` kept for an error message, in characters. */
const IP_OUTPUT_MAX_CHARS = 2048;

/** Interface types the driver makes a veth pair for. */
const VETH_TYPES = new Set(["network", "bridge", "ethernet"]);

/** A device name: what the kernel takes (below `IFNAMSIZ`, no `/`, `:` or space). */
const DEVICE_NAME = /^[A-Za-z0-9_.-]{1,15}$/;

/** One veth pair of a container. */
export interface ContainerLink {
  /** Where the definition names the interface, for errors. */
  where: string;
  /** The host end (`<target dev>`). */
  hostDev: string;
  /** The container end's name while it is still in the host's namespace. */
  peerDev: string;
  /** Its name inside the container (`<guest dev>`). */
  guestDev: string;
  /** The bridge the host end joins; undefined for `ethernet`. */
  bridge?: string;
  mac: string;
  mtu?: number;
  /** `<link state='down'>` leaves the container end down. */
  up: boolean;
  /** Addresses as `ip addr add` takes them (`address/prefix`, with `peer`). */
  addresses: Array<{ local: string; peer?: string }>;
  routes: Array<{ destination: string; gateway: string; metric?: number }>;
}

function refuse(where: string, message: string): VirtError {
  return new VirtError(ErrorCode.CONFIG_UNSUPPORTED, message, { where });
}

/** The class-based prefix libvirt gives an IPv4 address without one; 64 for IPv6. */
export function defaultPrefix(address: string): number {
  if (address.includes(":")) return 64;
  const first = Number(address.split(".")[0]);
  if (first < 128) return 8;
  if (first < 192) return 16;
  return 24;
}

function isAddress(text: string): boolean {
  return /^(\d{1,3}\.){3}\d{1,3}$/.test(text) ||
    /^[0-9A-Fa-f:.]+$/.test(text) && text.includes(":");
}

function addressOf(ip: GuestIp, where: string): { local: string; peer?: string } {
  if (!isAddress(ip.address)) {
    throw refuse(`${where}/@address`, `'${ip.address}' is not an IP address`);
  }
  const max = ip.address.includes(":") ? 128 : 32;
  const prefix = ip.prefix ?? defaultPrefix(ip.address);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) {
    throw refuse(`${where}/@prefix`, `prefix ${prefix} is out of range for '${ip.address}'`);
  }
  if (ip.peer !== undefined && !isAddress(ip.peer)) {
    throw refuse(`${where}/@peer`, `'${ip.peer}' is not an IP address`);
  }
  return { local: `${ip.address}/${prefix}`, ...(ip.peer === undefined ? {} : { peer: ip.peer }) };
}

function prefixOfNetmask(netmask: string, where: string): number {
  const bits = netmask.split(".").map(Number).map((byte) => byte.toString(2).padStart(8, "0"))
    .join("");
  if (!/^1*0*$/.test(bits) || bits.length !== 32) {
    throw refuse(`${where}/@netmask`, `'${netmask}' is not a netmask`);
  }
  return bits.indexOf("0") < 0 ? 32 : bits.indexOf("0");
}

function routeOf(route: GuestRoute, where: string): ContainerLink["routes"][number] {
  if (!isAddress(route.address)) {
    throw refuse(`${where}/@address`, `'${route.address}' is not an IP address`);
  }
  if (!isAddress(route.gateway)) {
    throw refuse(`${where}/@gateway`, `'${route.gateway}' is not an IP address`);
  }
  const prefix = route.prefix ??
    (route.netmask === undefined
      ? defaultPrefix(route.address)
      : prefixOfNetmask(route.netmask, where));
  return {
    destination: `${route.address}/${prefix}`,
    gateway: route.gateway,
    ...(route.metric === undefined ? {} : { metric: route.metric }),
  };
}

/**
 * Refuses the interfaces the driver cannot make (code 67 at the interface), before anything
 * exists: types other than `network`, `bridge` and `ethernet` (libvirt's LXC driver also runs
 * `direct`, a macvlan, which this one does not), a `<script>`, bad addresses.
 */
export function checkInterfaces(definition: DomainDefinition): void {
  const interfaces = definition.devices.interfaces;
  if (interfaces.length > LINKS_MAX) {
    throw refuse("/domain/devices/interface", `more than ${LINKS_MAX} interfaces`);
  }
  interfaces.forEach((nic, index) => {
    const where = `/domain/devices/interface[${index + 1}]`;
    if (!VETH_TYPES.has(nic.type)) {
      throw refuse(
        `${where}/@type`,
        `interface type '${nic.type}' is not supported by the lxc driver (network, bridge and ethernet are)`,
      );
    }
    if (nic.extra?.elements?.some((placed) => placed.element.name === "script")) {
      // libvirt's wording.
      throw refuse(`${where}/script`, "scripts are not supported on LXC network interfaces");
    }
    if (nic.guestDev !== undefined && !DEVICE_NAME.test(nic.guestDev)) {
      throw refuse(`${where}/guest/@dev`, `'${nic.guestDev}' is not a network device name`);
    }
    if (nic.target?.dev !== undefined && !DEVICE_NAME.test(nic.target.dev)) {
      throw refuse(`${where}/target/@dev`, `'${nic.target.dev}' is not a network device name`);
    }
    (nic.ips ?? []).forEach((ip, at) => addressOf(ip, `${where}/ip[${at + 1}]`));
    (nic.routes ?? []).forEach((route, at) => routeOf(route, `${where}/route[${at + 1}]`));
  });
}

/**
 * The live definition's interfaces with their names inside the container: a `<guest dev>` of
 * their own, else `eth0`, `eth1`, … counting only those without one (libvirt's rule). The
 * definition itself when it has no interface.
 */
export function withGuestNames(definition: DomainDefinition): DomainDefinition {
  const interfaces = definition.devices.interfaces;
  if (!interfaces.some((nic) => nic.guestDev === undefined)) return definition;
  let count = 0;
  const named = interfaces.map((nic): NetInterface =>
    nic.guestDev !== undefined ? nic : { ...nic, guestDev: `eth${count++}` }
  );
  return { ...definition, devices: { ...definition.devices, interfaces: named } };
}

/**
 * The veth pairs of an instance (pure): `network` and `bridge` interfaces carry the host's
 * bridge and tap name already (`actors/network_interfaces.ts`); an `ethernet` one without a
 * `<target dev>` gets the instance's next name.
 *
 * @throws {VirtError} What {@linkcode checkInterfaces} throws; code 67 for an interface whose
 *   bridge or MAC address the host did not give.
 */
export function containerLinks(definition: DomainDefinition, id: number): ContainerLink[] {
  checkInterfaces(definition);
  const named = withGuestNames(definition).devices.interfaces;
  const prefix = tapNamePrefix(id);
  const taken = new Set(named.map((nic) => nic.target?.dev).filter((dev) => dev !== undefined));
  let next = 0;
  return named.map((nic, index) => {
    const where = `/domain/devices/interface[${index + 1}]`;
    let hostDev = nic.target?.dev;
    if (hostDev === undefined) {
      while (taken.has(`${prefix}${next}`)) next++;
      hostDev = `${prefix}${next++}`;
      taken.add(hostDev);
    }
    const bridge = nic.type === "ethernet" ? undefined : nic.source?.bridge;
    if (nic.type !== "ethernet" && bridge === undefined) {
      throw refuse(`${where}/source`, "the interface has no bridge to join");
    }
    if (bridge !== undefined && !DEVICE_NAME.test(bridge)) {
      throw refuse(`${where}/source/@bridge`, `'${bridge}' is not a bridge name`);
    }
    if (nic.mac === undefined || !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(nic.mac)) {
      throw refuse(`${where}/mac/@address`, "the interface has no MAC address");
    }
    // The container end's temporary name, unique in the host's namespace while it is there:
    // `g` for `n` of an instance's own name, `h` and the position for a name of the user's.
    const peerDev = hostDev.startsWith(prefix)
      ? `${prefix.slice(0, -1)}g${hostDev.slice(prefix.length)}`
      : `${prefix.slice(0, -1)}h${index}`;
    return {
      where,
      hostDev,
      peerDev,
      guestDev: nic.guestDev!,
      ...(bridge === undefined ? {} : { bridge }),
      mac: nic.mac.toLowerCase(),
      ...(nic.mtu === undefined ? {} : { mtu: nic.mtu }),
      up: nic.link !== "down",
      addresses: (nic.ips ?? []).map((ip, at) => addressOf(ip, `${where}/ip[${at + 1}]`)),
      routes: (nic.routes ?? []).map((route, at) => routeOf(route, `${where}/route[${at + 1}]`)),
    };
  });
}

/** The `ip -batch` lines that make the pairs in the host's namespace and hand them over. */
export function hostBatch(links: readonly ContainerLink[], initPid: number): string[] {
  const lines: string[] = [];
  for (const link of links) {
    const mtu = link.mtu === undefined ? "" : ` mtu ${link.mtu}`;
    lines.push(
      `link add ${link.hostDev}${mtu} type veth peer name ${link.peerDev}${mtu}`,
      `link set ${link.peerDev} address ${link.mac}`,
    );
    if (link.bridge !== undefined) lines.push(`link set ${link.hostDev} master ${link.bridge}`);
    lines.push(`link set ${link.hostDev} up`, `link set ${link.peerDev} netns ${initPid}`);
  }
  return lines;
}

/** The `ip -batch` lines run in the container's namespace: names, addresses, routes, up. */
export function containerBatch(links: readonly ContainerLink[]): string[] {
  if (links.length === 0) return [];
  const lines: string[] = [];
  for (const link of links) {
    lines.push(`link set ${link.peerDev} name ${link.guestDev}`);
    for (const address of link.addresses) {
      const peer = address.peer === undefined ? "" : ` peer ${address.peer}`;
      lines.push(`address add ${address.local}${peer} dev ${link.guestDev}`);
    }
    if (link.up) lines.push(`link set ${link.guestDev} up`);
  }
  // As libvirt: the loopback comes up when the container has interfaces.
  lines.push("link set lo up");
  // Routes once every address is there (a gateway must be reachable on one of them).
  for (const link of links) {
    if (!link.up) continue;
    for (const route of link.routes) {
      const metric = route.metric === undefined ? "" : ` metric ${route.metric}`;
      lines.push(
        `route add ${route.destination} via ${route.gateway} dev ${link.guestDev}${metric}`,
      );
    }
  }
  return lines;
}

async function ipBatch(
  prefixArgs: string[],
  lines: string[],
  what: string,
  force = false,
): Promise<void> {
  if (lines.length === 0) return;
  const [program, ...args] = [...prefixArgs, "ip", ...(force ? ["-force"] : []), "-batch", "-"];
  let output: Deno.CommandOutput;
  try {
    const child = new Deno.Command(program, {
      args,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(IP_TIMEOUT_MS),
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(`${lines.join("\n")}\n`));
    await writer.close();
    output = await child.output();
  } catch (error) {
    throw new VirtError(ErrorCode.SYSTEM_ERROR, `${what}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (!output.success) {
    const text = new TextDecoder().decode(output.stderr).trim().slice(0, IP_OUTPUT_MAX_CHARS);
    throw new VirtError(ErrorCode.SYSTEM_ERROR, `${what}: ${text || `ip exited ${output.code}`}`);
  }
}

/**
 * Makes the container's interfaces: the pairs in the host's namespace (the caller's), their
 * container ends moved into the namespace of `initPid` and set up there. On a failure, what
 * was made in the host's namespace is removed again.
 *
 * @throws {VirtError} SYSTEM_ERROR (38) with `ip`'s message (a missing bridge, a name taken).
 */
export async function createLinks(links: readonly ContainerLink[], initPid: number): Promise<void> {
  if (links.length === 0) return;
  try {
    await ipBatch([], hostBatch(links, initPid), "cannot set up the container's interfaces");
    await ipBatch(
      ["nsenter", `--net=/proc/${initPid}/ns/net`, "--"],
      containerBatch(links),
      "cannot configure the interfaces inside the container",
    );
  } catch (error) {
    await removeLinks(links.flatMap((link) => [link.hostDev, link.peerDev]));
    throw error;
  }
}

/** The links of the caller's network namespace, from `/proc/net/dev` (per namespace). */
export function namespaceLinks(): Map<string, InterfaceCounters> {
  const links = new Map<string, InterfaceCounters>();
  let text: string;
  try {
    text = Deno.readTextFileSync("/proc/net/dev");
  } catch {
    return links;
  }
  for (const line of text.split("\n").slice(2)) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const fields = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    if (fields.length < 16 || fields.some((value) => !Number.isSafeInteger(value))) continue;
    links.set(line.slice(0, colon).trim(), {
      rxBytes: fields[0],
      rxPackets: fields[1],
      rxErrors: fields[2],
      rxDrops: fields[3],
      txBytes: fields[8],
      txPackets: fields[9],
      txErrors: fields[10],
      txDrops: fields[11],
    });
  }
  return links;
}

/** A link's counters, in its own namespace's view. */
export type InterfaceCounters = Omit<InterfaceSample, "index" | "name">;

/**
 * Deletes those of `names` that exist in the caller's namespace (deleting one end of a pair
 * deletes the other). Never throws: a link the kernel removed meanwhile is gone as wanted.
 */
export async function removeLinks(names: readonly string[]): Promise<void> {
  const present = namespaceLinks();
  const lines = names.filter((name) => present.has(name) && DEVICE_NAME.test(name))
    .map((name) => `link delete ${name}`);
  if (lines.length === 0) return;
  // -force: a link gone meanwhile does not stop the others.
  await ipBatch([], lines, "cannot remove the container's interfaces", true).catch(() => {});
}
