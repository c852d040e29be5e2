/**
 * The `lxc-tools` native format: an LXC tools container configuration → a domain definition,
 * as libvirt 9.0's `lxcParseConfigString` (`virsh domxml-from-native lxc-tools`) converts it,
 * with its refusals. Keys read (LXC 3.0 names, and the older ones libvirt still reads):
 *
 * - `lxc.uts.name` / `lxc.utsname` → `<name>` (required); `lxc.arch` → `<type arch>` (`x86` is
 *   i686, `amd64` x86_64, an unknown name none);
 * - `lxc.rootfs.path` / `lxc.rootfs` → the root `<filesystem>` (required; `/dev/…` is a block
 *   device); each `lxc.mount.entry` (fstab syntax) → a `<filesystem>` (`tmpfs` a RAM one of
 *   its `size=`, `/dev/…` a block device, `ro` read-only), except the mounts every container
 *   gets (`/proc`, `/sys`, …); `lxc.mount.fstab` / `lxc.mount` are refused (code 74);
 * - `lxc.net.N.*` and the older `lxc.network.*` (a new interface at each `type`) → `veth`
 *   interfaces (`bridge` with a `link`, else `ethernet`), `macvlan` (`direct`), `phys`/`vlan`
 *   (capabilities `net` hostdevs), with `hwaddr`, `flags` (`up`), `name` (`<guest dev>`),
 *   `ipv4`/`ipv6` addresses (CIDR) and gateways (default routes); none at all gives
 *   `<privnet/>`;
 * - `lxc.tty.max` / `lxc.tty` → that many `<console type='pty'>`;
 * - `lxc.idmap` / `lxc.id_map` → `<idmap>`;
 * - `lxc.cgroup.memory.{limit_in_bytes,soft_limit_in_bytes,memsw.limit_in_bytes}` →
 *   `<memory>` and `<memtune>`; `lxc.cgroup.cpu.{shares,cfs_quota_us,cfs_period_us}` →
 *   `<cputune>`; `lxc.cgroup.cpuset.{cpus,mems}` → `<vcpu cpuset>`, `<numatune>`;
 *   `lxc.cgroup.blkio.*` → `<blkiotune>`;
 * - `lxc.cap.drop` → `<capabilities policy='allow'>` with those capabilities off.
 *
 * Where libvirt fails without saying why ("An error occurred, but the cause is unknown"),
 * evirt refuses with code 1 and says why. Deliberate differences: a negative `lxc.tty.max`
 * makes libvirtd 9.0 abort (it allocates that many consoles), and more than 32 consoles are
 * more than evirt allows; evirt refuses both (code 67). An empty `lxc.uts.name` gives a
 * definition without a name, which formats without `<name>` where libvirt writes
 * `<name></name>` (the model holds `""` for both).
 *
 * @module
 */

import type {
  BlkioDevice,
  DomainDefinition,
  Filesystem,
  GuestIp,
  GuestRoute,
  Hostdev,
  NetInterface,
} from "../../src/model/domain.ts";
import { LIBVIRT_ARCHES } from "../../src/model/architectures.ts";
import { emptyDevices } from "../../src/model/domain.ts";
import { applyDomainDefaults } from "../../src/model/domain_defaults.ts";
import { formatCpuSet, parseCpuSet } from "../../src/model/cpu_set.ts";
import { ErrorCode, isVirtError, VirtError } from "../../src/model/errors.ts";
import { formatIp, parseIp } from "../../src/model/ip_address.ts";
import { formatMac, parseMac } from "../../src/model/mac_address.ts";
import { unitBytes } from "../../src/model/units.ts";
import { firstValue, type LxcConfigEntry, readLxcConfig } from "./lxc_config_reader.ts";
import { completeLxcDefinition, PROCESS_CAPABILITIES } from "./lxc_definition_rules.ts";

/** Options of {@linkcode lxcToolsToDomain}. */
export interface LxcToolsOptions {
  /** Makes the new domain's UUID. Default `crypto.randomUUID`. */
  generateUuid?: () => string;
  /** The emulator the definition names. Default the LXC driver's. */
  emulator?: string;
}

/** Memory of a container whose configuration sets no limit, in KiB (libvirt's choice). */
const DEFAULT_MEMORY_KIB = 64 * 1024;

/** libvirt's "unlimited" memory parameter, in KiB. */
const MEMORY_UNLIMITED_KIB = 9_007_199_254_740_991;

/** Most consoles a configuration may ask for (`lxc.tty.max`); evirt's console limit. */
const TTYS_MAX = 32;

/** Mount points every container gets (libvirt's `lxcBasicMounts`): entries for them are skipped. */
const BASIC_MOUNTS = new Set([
  "/proc",
  "/proc/sys",
  "/proc/sys/net/ipv4",
  "/proc/sys/net/ipv6",
  "/sys",
  "/sys/kernel/security",
  "/sys/fs/selinux",
]);

/** The network keys libvirt knows (`virLXCNetworkConfigEntry`). */
const NETWORK_KEYS = new Set([
  "name",
  "type",
  "link",
  "hwaddr",
  "flags",
  "macvlan.mode",
  "vlan.id",
  "ipv4",
  "ipv4.gateway",
  "ipv4.address",
  "ipv6",
  "ipv6.gateway",
  "ipv6.address",
]);

/**
 * Converts an LXC tools configuration to a domain definition (see the module notes).
 *
 * @param text The configuration file's text.
 * @param options How the UUID is made; the emulator.
 * @returns The definition, with libvirt's defaults (format it with `formatDomainXml`).
 * @throws {VirtError} libvirt's code and message where libvirt refuses, with the key in `where`.
 *
 * @example
 * ```ts
 * import { lxcToolsToDomain } from "./lxc_tools_config.ts";
 * const definition = lxcToolsToDomain(
 *   "lxc.uts.name = web\nlxc.rootfs.path = /var/lib/lxc/web/rootfs\nlxc.net.0.type = veth\nlxc.net.0.link = br0\n",
 * );
 * console.log(definition.name, definition.devices.interfaces[0].source); // web { bridge: "br0" }
 * ```
 */
export function lxcToolsToDomain(text: string, options: LxcToolsOptions = {}): DomainDefinition {
  const entries = readLxcConfig(text);
  const definition: DomainDefinition = {
    type: "lxc",
    name: "",
    memoryKiB: DEFAULT_MEMORY_KIB,
    vcpus: 1,
    os: { type: "exe", boot: [] },
    onPoweroff: "destroy",
    onReboot: "restart",
    onCrash: "destroy",
    devices: emptyDevices(),
  };
  const arch = firstValue(entries, "lxc.arch");
  if (arch !== undefined) {
    const known = arch === "x86" ? "i686" : arch === "amd64" ? "x86_64" : arch;
    if (LIBVIRT_ARCHES.has(known)) definition.os.arch = known;
  }
  definition.os.init = "/sbin/init";
  const name = firstValue(entries, "lxc.uts.name") ?? firstValue(entries, "lxc.utsname");
  if (name === undefined) {
    throw unexplained("the configuration has no lxc.uts.name", "lxc.uts.name");
  }
  definition.name = name;
  const filesystems: Filesystem[] = [rootFilesystem(entries)];
  if (
    firstValue(entries, "lxc.mount.fstab") !== undefined ||
    firstValue(entries, "lxc.mount") !== undefined
  ) {
    throw new VirtError(
      ErrorCode.ARGUMENT_UNSUPPORTED,
      "lxc.mount.fstab or lxc.mount found, use lxc.mount.entry lines instead",
      { where: "lxc.mount" },
    );
  }
  for (const entry of entries) {
    if (entry.name !== "lxc.mount.entry") continue;
    const filesystem = mountEntry(entry);
    if (filesystem !== undefined) filesystems.push(filesystem);
  }
  definition.devices.filesystems = filesystems;
  addNetworks(definition, entries);
  addConsoles(definition, entries);
  addIdmap(definition, entries);
  setMemoryTune(definition, entries);
  setCpuTune(definition, entries);
  setCpusetTune(definition, entries);
  setBlkioTune(definition, entries);
  setCapabilityDrop(definition, entries);
  const withDefaults = applyDomainDefaults(definition, {
    ...(options.generateUuid === undefined ? {} : { generateUuid: options.generateUuid }),
  });
  return completeLxcDefinition(withDefaults, {
    fillArch: false,
    ...(options.emulator === undefined ? {} : { emulator: options.emulator }),
  });
}

/** A refusal libvirt makes without a message of its own (code 1, its generic failure). */
function unexplained(message: string, where: string): VirtError {
  return new VirtError(ErrorCode.INTERNAL_ERROR, message, { where });
}

function internal(message: string, where: string): VirtError {
  return new VirtError(ErrorCode.INTERNAL_ERROR, message, { where });
}

function rootFilesystem(entries: readonly LxcConfigEntry[]): Filesystem {
  const path = firstValue(entries, "lxc.rootfs.path") ?? firstValue(entries, "lxc.rootfs");
  if (path === undefined) {
    throw unexplained("the configuration has no lxc.rootfs.path", "lxc.rootfs.path");
  }
  return filesystem(path.startsWith("/dev/") ? "block" : "mount", path, "/", false);
}

function filesystem(
  type: string,
  source: string | undefined,
  target: string,
  readonly: boolean,
  usageBytes = 0n,
): Filesystem {
  const result: Filesystem = { type, accessmode: "passthrough", target: { dir: target } };
  if (type === "ram") result.source = { usageKiB: Number(usageBytes / 1024n) };
  else if (source !== undefined) {
    result.source = type === "block" ? { dev: source } : { dir: source };
  }
  if (readonly) result.readonly = true;
  return result;
}

/** libvirt's split of a value into words: tabs count as spaces, empty words go. */
function words(value: string): string[] {
  return value.replaceAll("\t", " ").split(" ").filter((word) => word !== "");
}

/** One `lxc.mount.entry` (fstab fields), or undefined for a mount every container has. */
function mountEntry(entry: LxcConfigEntry): Filesystem | undefined {
  const where = `lxc.mount.entry (line ${entry.line})`;
  const [source, target, fsType, optionText] = words(entry.value);
  if (optionText === undefined) {
    throw unexplained(
      `lxc.mount.entry needs source, target, type and options: '${entry.value}'`,
      where,
    );
  }
  const options = optionText.split(",");
  const destination = target.startsWith("/") ? target : `/${target}`;
  if (BASIC_MOUNTS.has(destination)) return undefined;
  let type = "mount";
  let usage = 0n;
  let mountSource: string | undefined = source;
  if (fsType === "tmpfs") {
    type = "ram";
    mountSource = undefined;
    const size = options.find((option) => option.startsWith("size="));
    if (size === undefined) throw internal("missing tmpfs size, set the size option", where);
    usage = convertSize(size.slice("size=".length), where);
  }
  if (source.startsWith("/dev/")) type = "block";
  return filesystem(type, mountSource, destination, options.includes("ro"), usage);
}

/** A size with an optional unit (`8m`, `1G`, `512`) in bytes, as libvirt's `lxcConvertSize`. */
function convertSize(text: string, where: string): bigint {
  const match = /^\s*\+?(\d+)(.*)$/s.exec(text);
  if (match === null) throw internal(`failed to convert size: '${text}'`, where);
  const unit = match[2];
  if (unit === "%") throw internal(`can't convert relative size: '${text}'`, where);
  const scale = unit === "" ? 1n : unitBytes(unit);
  const value = BigInt(match[1]);
  if (scale === undefined || value * scale >= 2n ** 64n) {
    throw internal(`failed to convert size: '${text}'`, where);
  }
  return value * scale;
}

/** What the keys of one network interface said. */
interface NetworkKeys {
  index: number;
  type?: string;
  link?: string;
  mac?: string;
  flags?: string;
  macvlanMode?: string;
  vlanId?: string;
  name?: string;
  ips: GuestIp[];
  gateway4?: string;
  gateway6?: string;
}

function addNetworks(definition: DomainDefinition, entries: readonly LxcConfigEntry[]): void {
  const networks: NetworkKeys[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith("lxc.network.")) {
      const key = entry.name.slice("lxc.network.".length);
      if (key === "type") networks.push({ index: networks.length + 1, ips: [] });
      const network = networks.at(-1);
      if (network === undefined) {
        throw unexplained(`${entry.name} comes before any lxc.network.type`, entry.name);
      }
      setNetworkKey(network, key, entry);
    } else if (entry.name.startsWith("lxc.net.")) {
      const match = /^lxc\.net\.(\d+)\.(.*)$/s.exec(entry.name);
      if (match === null) throw unexplained(`malformed network key ${entry.name}`, entry.name);
      const index = Number(match[1]);
      let network = networks.find((each) => each.index === index);
      if (network === undefined) {
        network = { index, ips: [] };
        networks.push(network);
      }
      setNetworkKey(network, match[2], entry);
    }
  }
  for (const network of networks) addNetwork(definition, network);
  if (networks.length === 0) (definition.features ??= {}).privnet = {};
}

function setNetworkKey(network: NetworkKeys, key: string, entry: LxcConfigEntry): void {
  if (!NETWORK_KEYS.has(key)) throw unexplained(`unhandled network key ${entry.name}`, entry.name);
  const value = entry.value;
  switch (key) {
    case "type":
      network.type = value;
      return;
    case "link":
      network.link = value;
      return;
    case "hwaddr":
      network.mac = value;
      return;
    case "flags":
      network.flags = value;
      return;
    case "macvlan.mode":
      network.macvlanMode = value;
      return;
    case "vlan.id":
      network.vlanId = value;
      return;
    case "name":
      network.name = value;
      return;
    case "ipv4.gateway":
      network.gateway4 = value;
      return;
    case "ipv6.gateway":
      network.gateway6 = value;
      return;
    default:
      network.ips.push(cidr(value, key.startsWith("ipv6") ? "ipv6" : "ipv4", entry.name));
  }
}

/** An `address/prefix` of `family`; the prefix is left out when 0, as libvirt formats it. */
function cidr(value: string, family: "ipv4" | "ipv6", where: string): GuestIp {
  const slash = value.indexOf("/");
  const address = slash < 0 ? undefined : parseIp(value.slice(0, slash));
  const prefixText = slash < 0 ? "" : value.slice(slash + 1);
  if (address === undefined || address.family !== family || !/^\s*\+?\d+$/.test(prefixText)) {
    throw new VirtError(ErrorCode.INVALID_ARG, `Invalid CIDR address: '${value}'`, { where });
  }
  const prefix = Number(prefixText.trim());
  if (prefix > 0xffff_ffff) {
    throw new VirtError(ErrorCode.INVALID_ARG, `Invalid CIDR address: '${value}'`, { where });
  }
  return { address: formatIp(address), family, ...(prefix > 0 ? { prefix } : {}) };
}

/** The default route through `gateway`, checked as libvirt's route parser checks it. */
function defaultRoute(gateway: string, family: "ipv4" | "ipv6"): GuestRoute {
  const address = family === "ipv4" ? "0.0.0.0" : "::";
  const parsed = parseIp(gateway);
  const fail = (message: string) =>
    new VirtError(ErrorCode.XML_ERROR, `Domain interface: ${message}`, {
      where: `lxc.net.*.${family}.gateway`,
    });
  if (parsed === undefined) throw fail(`Bad gateway address '${gateway}' in route definition`);
  if (family === "ipv4" && parsed.family !== "ipv4") {
    // libvirt's message names the route's address here, not the gateway.
    throw fail(`IPv4 family specified for non-IPv4 gateway '${address}' in route definition`);
  }
  if (family === "ipv6" && parsed.family !== "ipv6") {
    throw fail(`ipv6 specified for non-IPv6 gateway address '${gateway}' in route definition`);
  }
  return { family, address, gateway: formatIp(parsed) };
}

function guestAddressing(network: NetworkKeys): { ips?: GuestIp[]; routes?: GuestRoute[] } {
  const routes: GuestRoute[] = [];
  if (network.gateway4 !== undefined) routes.push(defaultRoute(network.gateway4, "ipv4"));
  if (network.gateway6 !== undefined) routes.push(defaultRoute(network.gateway6, "ipv6"));
  return {
    ...(network.ips.length > 0 ? { ips: network.ips } : {}),
    ...(routes.length > 0 ? { routes } : {}),
  };
}

function addNetwork(definition: DomainDefinition, network: NetworkKeys): void {
  const type = network.type;
  if (type === undefined || type === "empty" || type === "" || type === "none") return;
  if (type === "phys" || type === "vlan") {
    if (network.link === undefined) {
      throw new VirtError(ErrorCode.CONFIG_UNSUPPORTED, "Missing 'link' attribute for NIC", {
        where: `lxc.net.${network.index}.link`,
      });
    }
    const device = type === "vlan" && network.vlanId !== undefined
      ? `${network.link}.${network.vlanId}`
      : network.link;
    const hostdev: Hostdev = {
      mode: "capabilities",
      type: "net",
      source: { interface: device },
      ...guestAddressing(network),
    };
    definition.devices.hostdevs.push(hostdev);
    return;
  }
  const mac = network.mac === undefined ? undefined : parseMac(network.mac);
  const net: NetInterface = {
    type: "user",
    mac: formatMac(mac ?? [0, 0, 0, 0, 0, 0]),
  };
  if (type === "veth") {
    if (network.link !== undefined) {
      net.type = "bridge";
      net.source = { bridge: network.link };
    } else {
      net.type = "ethernet";
    }
  } else if (type === "macvlan") {
    if (network.link === undefined) {
      throw unexplained("a macvlan interface needs a link", `lxc.net.${network.index}.link`);
    }
    net.type = "direct";
    const mode = network.macvlanMode === undefined || network.macvlanMode === "private"
      ? "private"
      : network.macvlanMode === "bridge"
      ? "bridge"
      : "vepa"; // libvirt warns about an unknown mode and keeps its first, vepa
    net.source = { dev: network.link, mode };
  }
  Object.assign(net, guestAddressing(network));
  if (network.name !== undefined) net.guestDev = network.name;
  net.link = network.flags === "up" ? "up" : "down";
  definition.devices.interfaces.push(net);
}

function addConsoles(definition: DomainDefinition, entries: readonly LxcConfigEntry[]): void {
  const value = firstValue(entries, "lxc.tty.max") ?? firstValue(entries, "lxc.tty");
  if (value === undefined) return;
  const where = "lxc.tty.max";
  if (!/^\s*[+-]?\d+$/.test(value) || !Number.isSafeInteger(Number(value.trim()))) {
    throw internal(`failed to parse int: '${value}'`, where);
  }
  const count = Number(value.trim());
  if (count < 0 || count > TTYS_MAX) {
    throw new VirtError(
      ErrorCode.CONFIG_UNSUPPORTED,
      `lxc.tty.max must be between 0 and ${TTYS_MAX}: '${value}'`,
      { where },
    );
  }
  for (let port = 0; port < count; port++) {
    definition.devices.consoles.push({ type: "pty", sources: [], target: { type: "lxc", port } });
  }
}

/** A C `strtoul` (base 10) of one word, wrapped to 64 bits, then kept to 32 as libvirt stores it. */
function unsignedWord(word: string): number | undefined {
  const match = /^([+-]?)(\d+)/.exec(word);
  if (match === null) return undefined;
  const max = 2n ** 64n - 1n;
  let value = BigInt(match[2]);
  if (value > max) value = max;
  if (match[1] === "-") value = (2n ** 64n - value) % 2n ** 64n;
  return Number(value & 0xffff_ffffn);
}

function addIdmap(definition: DomainDefinition, entries: readonly LxcConfigEntry[]): void {
  for (const entry of entries) {
    if (entry.name !== "lxc.idmap" && entry.name !== "lxc.id_map") continue;
    const kind = entry.value.charAt(0);
    const fields = entry.value.slice(1).trim().split(/\s+/);
    const numbers = fields.slice(0, 3).map(unsignedWord);
    if (kind === "" || numbers.length < 3 || numbers.some((number) => number === undefined)) {
      throw internal(`invalid ${entry.name}: '${entry.value}'`, entry.name);
    }
    const [target, start, count] = numbers as number[];
    const idmap = (definition.idmap ??= { uids: [], gids: [] });
    if (kind === "u") idmap.uids.push({ start, target, count });
    else if (kind === "g") idmap.gids.push({ start, target, count });
    else {throw unexplained(
        `${entry.name} maps neither uids (u) nor gids (g): '${entry.value}'`,
        entry.name,
      );}
  }
}

/** A size key's value in KiB, capped at libvirt's "unlimited". */
function sizeKiB(entries: readonly LxcConfigEntry[], name: string): number | undefined {
  const value = firstValue(entries, name);
  if (value === undefined) return undefined;
  const kib = convertSize(value, name) / 1024n;
  return kib < BigInt(MEMORY_UNLIMITED_KIB) ? Number(kib) : MEMORY_UNLIMITED_KIB;
}

function setMemoryTune(definition: DomainDefinition, entries: readonly LxcConfigEntry[]): void {
  const hard = sizeKiB(entries, "lxc.cgroup.memory.limit_in_bytes");
  const soft = sizeKiB(entries, "lxc.cgroup.memory.soft_limit_in_bytes");
  const swap = sizeKiB(entries, "lxc.cgroup.memory.memsw.limit_in_bytes");
  if (hard !== undefined) definition.memoryKiB = hard;
  const tune = {
    ...(hard !== undefined && hard < MEMORY_UNLIMITED_KIB ? { hardLimitKiB: hard } : {}),
    ...(soft !== undefined && soft < MEMORY_UNLIMITED_KIB ? { softLimitKiB: soft } : {}),
    ...(swap !== undefined && swap < MEMORY_UNLIMITED_KIB ? { swapHardLimitKiB: swap } : {}),
  };
  if (Object.keys(tune).length > 0) definition.memtune = tune;
}

/** A whole-value integer as libvirt's `virStrToLong_*` reads it (no trailing characters). */
function integer(value: string, signed: boolean, bits: 32 | 64): number | undefined {
  const match = /^\s*([+-]?)(\d+)$/.exec(value);
  if (match === null) return undefined;
  const negative = match[1] === "-";
  if (negative && !signed) return undefined;
  const magnitude = BigInt(match[2]);
  const limit = signed ? 2n ** BigInt(bits - 1) : 2n ** BigInt(bits);
  if (magnitude >= limit + (negative ? 1n : 0n)) return undefined;
  const result = Number(negative ? -magnitude : magnitude);
  return Number.isSafeInteger(result) ? result : undefined;
}

function setCpuTune(definition: DomainDefinition, entries: readonly LxcConfigEntry[]): void {
  const read = (name: string, signed: boolean): number | undefined => {
    const value = firstValue(entries, name);
    if (value === undefined) return undefined;
    const number = integer(value, signed, 64);
    if (number === undefined) throw internal(`failed to parse integer: '${value}'`, name);
    return number;
  };
  const shares = read("lxc.cgroup.cpu.shares", false);
  const quota = read("lxc.cgroup.cpu.cfs_quota_us", true);
  const period = read("lxc.cgroup.cpu.cfs_period_us", false);
  // libvirt writes shares whenever given, period and quota only when not zero.
  const tune = {
    ...(shares !== undefined ? { shares } : {}),
    ...(period ? { period } : {}),
    ...(quota ? { quota } : {}),
  };
  if (Object.keys(tune).length === 0) return;
  definition.cputune = {
    ...tune,
    vcpupins: [],
    iothreadpins: [],
    vcpuscheds: [],
    iothreadscheds: [],
    cachetunes: [],
    memorytunes: [],
  };
}

function bitmap(value: string, name: string): string {
  try {
    return formatCpuSet(parseCpuSet(value));
  } catch (error) {
    if (!isVirtError(error)) throw error;
    throw new VirtError(ErrorCode.INVALID_ARG, `Failed to parse bitmap '${value}'`, {
      where: name,
    });
  }
}

function setCpusetTune(definition: DomainDefinition, entries: readonly LxcConfigEntry[]): void {
  const cpus = firstValue(entries, "lxc.cgroup.cpuset.cpus");
  if (cpus !== undefined) {
    definition.vcpu = { placement: "static", cpuset: bitmap(cpus, "lxc.cgroup.cpuset.cpus") };
  }
  const mems = firstValue(entries, "lxc.cgroup.cpuset.mems");
  if (mems !== undefined) {
    definition.numatune = {
      memory: { mode: "strict", nodeset: bitmap(mems, "lxc.cgroup.cpuset.mems") },
      memnodes: [],
    };
  }
}

/** The `lxc.cgroup.blkio.*` device keys and the field each sets, with its width. */
const BLKIO_DEVICE_KEYS: Readonly<
  Record<string, { field: keyof BlkioDevice; bits: 32 | 64; what: string }>
> = {
  "lxc.cgroup.blkio.device_weight": { field: "weight", bits: 32, what: "device weight" },
  "lxc.cgroup.blkio.throttle.read_bps_device": {
    field: "readBytesSec",
    bits: 64,
    what: "read_bps_device",
  },
  "lxc.cgroup.blkio.throttle.write_bps_device": {
    field: "writeBytesSec",
    bits: 64,
    what: "write_bps_device",
  },
  "lxc.cgroup.blkio.throttle.read_iops_device": {
    field: "readIopsSec",
    bits: 32,
    what: "read_iops_device",
  },
  "lxc.cgroup.blkio.throttle.write_iops_device": {
    field: "writeIopsSec",
    bits: 32,
    what: "write_iops_device",
  },
};

function setBlkioTune(definition: DomainDefinition, entries: readonly LxcConfigEntry[]): void {
  const weightText = firstValue(entries, "lxc.cgroup.blkio.weight");
  let weight = 0;
  if (weightText !== undefined) {
    const parsed = integer(weightText, false, 32);
    if (parsed === undefined) {
      throw internal(`failed to parse integer: '${weightText}'`, "lxc.cgroup.blkio.weight");
    }
    weight = parsed;
  }
  const devices: BlkioDevice[] = [];
  for (const entry of entries) {
    if (!entry.name.startsWith("lxc.cgroup.blkio.") || entry.name === "lxc.cgroup.blkio.weight") {
      continue;
    }
    const [device, amount] = words(entry.value);
    if (amount === undefined) {
      throw internal(`invalid ${entry.name} value: '${entry.value}'`, entry.name);
    }
    const path = `/dev/block/${device}`;
    let tuned = devices.find((each) => each.path === path);
    if (tuned === undefined) {
      tuned = { path };
      devices.push(tuned);
    }
    const key = BLKIO_DEVICE_KEYS[entry.name];
    if (key === undefined) continue; // libvirt warns and goes on
    const parsed = integer(amount, false, key.bits);
    if (parsed === undefined) {
      throw internal(`failed to parse ${key.what}: '${amount}'`, entry.name);
    }
    (tuned as Record<string, unknown>)[key.field] = parsed;
  }
  // libvirt writes only what is not zero.
  const written = devices.map((device) =>
    Object.fromEntries(
      Object.entries(device).filter(([field, value]) => field === "path" || value !== 0),
    ) as BlkioDevice
  ).filter((device) => Object.keys(device).length > 1);
  if (weight === 0 && written.length === 0) return;
  definition.blkiotune = { ...(weight !== 0 ? { weight } : {}), devices: written };
}

function setCapabilityDrop(definition: DomainDefinition, entries: readonly LxcConfigEntry[]): void {
  const dropped = (firstValue(entries, "lxc.cap.drop") ?? "").split(" ");
  const toggles: Record<string, string> = {};
  for (const name of PROCESS_CAPABILITIES) if (dropped.includes(name)) toggles[name] = "off";
  (definition.features ??= {}).capabilities = { policy: "allow" };
  if (Object.keys(toggles).length > 0) definition.featureCapabilities = toggles;
}
