/**
 * Tap devices for a confined QEMU, made by the service as libvirt makes them: `/dev/net/tun`
 * takes root, so the service opens it, attaches the tap (`TUNSETIFF`) and QEMU inherits the
 * descriptor (`-netdev tap,fd=N`); for vhost, `/dev/vhost-net` likewise (`vhostfd=N`). An
 * interface's `<script>` is run by the service too (QEMU's sandbox forbids it to exec). The
 * descriptors are opened without close-on-exec right before QEMU is spawned and closed in the
 * service right after, in one synchronous run, so no other child inherits them.
 *
 * @module
 */

import type { DomainDefinition } from "../../src/model/domain.ts";
import type { Bandwidth } from "../../src/model/network.ts";
import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import { isBridgedInterface } from "../../src/model/tap_names.ts";
import { linkExists } from "../../src/host/net_links.ts";
import { refuseConfig } from "./config_refusal.ts";
import { qemuOption } from "./qemu_option.ts";
import { libcBinding } from "../../src/host/libc.ts";

/** The tun/tap clone device. */
const TUN_DEVICE = "/dev/net/tun";
/** `TUNSETIFF`. */
const TUNSETIFF = 0x400454ca;
/** `IFF_TAP`, `IFF_NO_PI`, `IFF_VNET_HDR`. */
const IFF_TAP = 0x0002;
const IFF_NO_PI = 0x1000;
const IFF_VNET_HDR = 0x4000;
/** `O_RDWR`. */
const O_RDWR = 2;
/** `struct ifreq` is 40 bytes; the name takes the first 16 (`IFNAMSIZ`). */
const IFREQ_BYTES = 40;
const IFNAMSIZ = 16;

/** `O_CLOEXEC`, for descriptors the service opens and closes itself. */
const O_CLOEXEC = 0x80000;
/** `TUNSETPERSIST`, `TUNSETOWNER`, `TUNSETGROUP` (their argument is a value, not a pointer). */
const TUNSETPERSIST = 0x400454cb;
const TUNSETOWNER = 0x400454cc;
const TUNSETGROUP = 0x400454ce;
/** The `struct ifreq` requests a bridge port needs. */
const SIOCGIFFLAGS = 0x8913;
const SIOCSIFFLAGS = 0x8914;
const SIOCGIFMTU = 0x8921;
const SIOCSIFMTU = 0x8922;
const SIOCSIFHWADDR = 0x8924;
const SIOCGIFINDEX = 0x8933;
const SIOCBRADDIF = 0x89a2;
/** `IFF_UP`; `ARPHRD_ETHER`; `AF_UNIX`; `SOCK_DGRAM`. */
const IFF_UP = 0x1;
const ARPHRD_ETHER = 1;
const AF_UNIX = 1;
const SOCK_DGRAM = 2;

const SYMBOLS = {
  open: { parameters: ["buffer", "i32"], result: "i32" },
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  ioctl_value: { name: "ioctl", parameters: ["i32", "u64", "u64"], result: "i32" },
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
} as const;

const LIBC = libcBinding(SYMBOLS);
const libc = LIBC.symbols;

const errno = LIBC.errno;

function openDevice(path: string, where: string, flags = O_RDWR): number {
  const fd = libc().open(new TextEncoder().encode(`${path}\0`) as Uint8Array<ArrayBuffer>, flags);
  if (fd < 0) {
    throw new VirtError(
      ErrorCode.SYSTEM_ERROR,
      `Unable to open ${path}: errno ${errno()}`,
      { where },
    );
  }
  return fd;
}

/** A tap attached for QEMU. */
export interface OpenedTap {
  /** The descriptor QEMU inherits. */
  fd: number;
  /** The tap's name (the kernel's choice when none was asked). */
  name: string;
}

/**
 * Opens `/dev/net/tun` and attaches the tap `name` (made if missing; an existing persistent
 * tap, libvirt's `managed='no'`, is attached to).
 *
 * @param name The tap's name, or undefined for the kernel's `tapN`.
 * @param where Where the definition names the interface, for errors.
 * @throws {VirtError} SYSTEM_ERROR (38) when the device cannot be opened or the tap attached.
 *
 * @example
 * ```ts ignore
 * const tap = openTap("vnet7", "/domain/devices/interface[1]");
 * ```
 */
export function openTap(name: string | undefined, where: string): OpenedTap {
  const fd = openDevice(TUN_DEVICE, where);
  const request = new Uint8Array(IFREQ_BYTES);
  const nameBytes = new TextEncoder().encode(name ?? "");
  if (nameBytes.length >= IFNAMSIZ) {
    closeFds([fd]);
    throw new VirtError(ErrorCode.CONFIG_UNSUPPORTED, `tap name '${name}' is too long`, {
      where,
    });
  }
  request.set(nameBytes, 0);
  new DataView(request.buffer).setUint16(IFNAMSIZ, IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, true);
  if (libc().ioctl(fd, BigInt(TUNSETIFF), request) < 0) {
    const code = errno();
    closeFds([fd]);
    throw new VirtError(
      ErrorCode.SYSTEM_ERROR,
      `Unable to create tap device ${name ?? ""}: errno ${code}`,
      { where },
    );
  }
  const end = request.subarray(0, IFNAMSIZ).indexOf(0);
  const actual = new TextDecoder().decode(request.subarray(0, end < 0 ? IFNAMSIZ : end));
  return { fd, name: actual };
}

/** The errno names a failed bridge-port step reports (the rest as numbers). */
const ERRNO_TEXT: Record<number, string> = {
  1: "Operation not permitted",
  16: "Device or resource busy",
  17: "File exists",
  19: "No such device",
  22: "Invalid argument",
  95: "Operation not supported",
};

function errnoText(code: number): string {
  return ERRNO_TEXT[code] ?? `errno ${code}`;
}

/** A `struct ifreq` naming `name`. */
function interfaceRequest(name: string): Uint8Array<ArrayBuffer> {
  const request = new Uint8Array(IFREQ_BYTES);
  request.set(new TextEncoder().encode(name), 0);
  return request;
}

/**
 * A tap on a bridge for an interface of type `network` or `bridge` (libvirt's
 * `virNetDevTapCreateInBridgePort`), made by the service before QEMU runs or hotplugs it.
 */
export interface BridgePort {
  /** The tap's name. */
  tap: string;
  /** The bridge it joins. */
  bridge: string;
  /** The guest's MAC address. */
  mac: string;
  /** The tap's MTU; absent: the bridge's. */
  mtu?: number;
  /** `<bandwidth>` shaped on the tap (set after it is made; see bridge_ports.ts). */
  bandwidth?: Bandwidth;
}

/**
 * Makes `port.tap` a persistent tap (owned by `owner`, so a confined QEMU may attach to it by
 * name), gives it the guest's MAC address with the first byte `fe` (libvirt's rule: the bridge
 * never takes the guest's address as its own), adds it to the bridge, sets its MTU (the
 * bridge's unless given) and brings it up. What was made is removed again on a failure.
 *
 * @throws {VirtError} SYSTEM_ERROR (38) when the tap exists already or a step fails, with the
 *   errno's text (a missing bridge: `No such device`).
 *
 * @example
 * ```ts ignore
 * makeBridgePort({ tap: "vnet3n0", bridge: "virbr0", mac: "52:54:00:12:34:56" }, undefined, "/domain/devices/interface[1]");
 * ```
 */
export function makeBridgePort(
  port: BridgePort,
  owner: { uid: number; gid: number } | undefined,
  where: string,
): void {
  if (new TextEncoder().encode(port.tap).length >= IFNAMSIZ) {
    throw new VirtError(ErrorCode.CONFIG_UNSUPPORTED, `tap name '${port.tap}' is too long`, {
      where,
    });
  }
  if (linkExists(port.tap)) {
    throw new VirtError(
      ErrorCode.SYSTEM_ERROR,
      `Unable to create tap device ${port.tap}: File exists`,
      { where },
    );
  }
  const fd = openDevice(TUN_DEVICE, where, O_RDWR | O_CLOEXEC);
  try {
    const request = interfaceRequest(port.tap);
    new DataView(request.buffer).setUint16(IFNAMSIZ, IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, true);
    const calls: [string, () => number][] = [
      ["create tap device", () => libc().ioctl(fd, BigInt(TUNSETIFF), request)],
      ["make tap device persistent", () => libc().ioctl_value(fd, BigInt(TUNSETPERSIST), 1n)],
      ...(owner === undefined ? [] : [
        [
          "set tap device owner",
          () => libc().ioctl_value(fd, BigInt(TUNSETOWNER), BigInt(owner.uid)),
        ],
        [
          "set tap device group",
          () => libc().ioctl_value(fd, BigInt(TUNSETGROUP), BigInt(owner.gid)),
        ],
      ] as [string, () => number][]),
    ];
    for (const [step, call] of calls) {
      if (call() < 0) {
        const code = errno();
        if (step !== "create tap device") deleteTapQuietly(port.tap);
        throw new VirtError(
          ErrorCode.SYSTEM_ERROR,
          `Unable to ${step} ${port.tap}: ${errnoText(code)}`,
          { where },
        );
      }
    }
  } finally {
    closeFds([fd]);
  }
  try {
    joinBridge(port, where);
  } catch (error) {
    deleteTapQuietly(port.tap);
    throw error;
  }
}

/** Sets the tap's address and MTU, adds it to the bridge and brings it up. */
function joinBridge(port: BridgePort, where: string): void {
  const sock = libc().socket(AF_UNIX, SOCK_DGRAM | O_CLOEXEC, 0);
  if (sock < 0) {
    throw new VirtError(ErrorCode.SYSTEM_ERROR, `Unable to open socket: errno ${errno()}`, {
      where,
    });
  }
  const fail = (message: string) =>
    new VirtError(ErrorCode.SYSTEM_ERROR, `${message}: ${errnoText(errno())}`, { where });
  try {
    const address = interfaceRequest(port.tap);
    const view = new DataView(address.buffer);
    view.setUint16(IFNAMSIZ, ARPHRD_ETHER, true);
    port.mac.split(":").forEach((byte, index) => {
      address[IFNAMSIZ + 2 + index] = index === 0 ? 0xfe : parseInt(byte, 16);
    });
    if (libc().ioctl(sock, BigInt(SIOCSIFHWADDR), address) < 0) {
      throw fail(`Cannot set interface MAC on '${port.tap}'`);
    }
    const index = interfaceRequest(port.tap);
    if (libc().ioctl(sock, BigInt(SIOCGIFINDEX), index) < 0) {
      throw fail(`Unable to get interface index for '${port.tap}'`);
    }
    const tapIndex = new DataView(index.buffer).getInt32(IFNAMSIZ, true);
    const add = interfaceRequest(port.bridge);
    new DataView(add.buffer).setInt32(IFNAMSIZ, tapIndex, true);
    if (libc().ioctl(sock, BigInt(SIOCBRADDIF), add) < 0) {
      throw fail(`Unable to add bridge ${port.bridge} port ${port.tap}`);
    }
    let mtu = port.mtu;
    if (mtu === undefined) {
      const bridgeMtu = interfaceRequest(port.bridge);
      if (libc().ioctl(sock, BigInt(SIOCGIFMTU), bridgeMtu) < 0) {
        throw fail(`Cannot get interface MTU on '${port.bridge}'`);
      }
      mtu = new DataView(bridgeMtu.buffer).getInt32(IFNAMSIZ, true);
    }
    const setMtu = interfaceRequest(port.tap);
    new DataView(setMtu.buffer).setInt32(IFNAMSIZ, mtu, true);
    if (libc().ioctl(sock, BigInt(SIOCSIFMTU), setMtu) < 0) {
      throw fail(`Cannot set interface MTU on '${port.tap}'`);
    }
    const flags = interfaceRequest(port.tap);
    if (libc().ioctl(sock, BigInt(SIOCGIFFLAGS), flags) < 0) {
      throw fail(`Cannot get interface flags on '${port.tap}'`);
    }
    const flagView = new DataView(flags.buffer);
    flagView.setUint16(IFNAMSIZ, flagView.getUint16(IFNAMSIZ, true) | IFF_UP, true);
    if (libc().ioctl(sock, BigInt(SIOCSIFFLAGS), flags) < 0) {
      throw fail(`Cannot set interface flags on '${port.tap}'`);
    }
  } finally {
    libc().close(sock);
  }
}

/**
 * Removes a persistent tap the service made (its last holder closing it takes it away): it is
 * attached to once more and made non-persistent. A link that is no tap, or none, is left alone.
 *
 * @returns Whether a tap was removed.
 * @throws {VirtError} SYSTEM_ERROR (38) when the tap cannot be attached to (QEMU still holds it).
 *
 * @example
 * ```ts ignore
 * deleteTap("vnet3n0");
 * ```
 */
export function deleteTap(name: string): boolean {
  if (name.includes("/") || !linkExists(`${name}/tun_flags`)) return false;
  const where = `tap ${name}`;
  const fd = openDevice(TUN_DEVICE, where, O_RDWR | O_CLOEXEC);
  try {
    const request = interfaceRequest(name);
    new DataView(request.buffer).setUint16(IFNAMSIZ, IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, true);
    if (
      libc().ioctl(fd, BigInt(TUNSETIFF), request) < 0 ||
      libc().ioctl_value(fd, BigInt(TUNSETPERSIST), 0n) < 0
    ) {
      throw new VirtError(
        ErrorCode.SYSTEM_ERROR,
        `Unable to remove tap device ${name}: ${errnoText(errno())}`,
      );
    }
  } finally {
    closeFds([fd]);
  }
  return true;
}

function deleteTapQuietly(name: string): void {
  try {
    deleteTap(name);
  } catch {
    // Reported by the caller's own error.
  }
}

/**
 * Refuses to hotplug a tap QEMU would have to open itself (`netdev_add tap,ifname=…` opens
 * `/dev/net/tun`) when QEMU runs as a user the device does not let read and write: the service
 * passes descriptors only at start (it cannot hand one over QEMU's monitor).
 *
 * @throws {VirtError} OPERATION_UNSUPPORTED (84) naming the user and the device's mode.
 *
 * @example
 * ```ts ignore
 * refuseUnopenableTun({ uid: 64055, gid: 64055 }, "/domain/devices/interface[2]");
 * ```
 */
export function refuseUnopenableTun(
  owner: { uid: number; gid: number } | undefined,
  where: string,
): void {
  if (owner === undefined || owner.uid === 0) return;
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(TUN_DEVICE);
  } catch {
    return; // Missing: the tap's own creation reports it.
  }
  const mode = info.mode ?? 0;
  const readWrite = (shift: number) => ((mode >> shift) & 0o6) === 0o6;
  const usable = readWrite(0) || (info.uid === owner.uid && readWrite(6)) ||
    (info.gid === owner.gid && readWrite(3));
  if (!usable) {
    throw new VirtError(
      ErrorCode.OPERATION_UNSUPPORTED,
      `cannot hotplug a tap interface: QEMU runs as uid ${owner.uid}, which cannot open ${TUN_DEVICE} (mode ${
        (mode & 0o777).toString(8)
      }), and evirt passes tap descriptors only at start`,
      { where },
    );
  }
}

/** Most host links looked at when taps are found by prefix. */
const LINKS_SCANNED_MAX = 65_536;

/**
 * The taps whose names start with `prefix` (a domain instance's, see `src/model/tap_names.ts`).
 *
 * @example
 * ```ts ignore
 * for (const tap of tapsNamed("vnet3n")) deleteTap(tap);
 * ```
 */
export function tapsNamed(prefix: string): string[] {
  const found: string[] = [];
  let scanned = 0;
  try {
    for (const entry of Deno.readDirSync("/sys/class/net")) {
      if (++scanned > LINKS_SCANNED_MAX) break;
      if (entry.name.startsWith(prefix) && linkExists(`${entry.name}/tun_flags`)) {
        found.push(entry.name);
      }
    }
  } catch {
    // No sysfs: no taps to find.
  }
  return found.sort();
}

/**
 * Opens `/dev/vhost-net` for QEMU's vhost backend.
 *
 * @throws {VirtError} SYSTEM_ERROR (38) when it cannot be opened.
 */
export function openVhostNet(where: string): number {
  return openDevice("/dev/vhost-net", where);
}

/** Closes the service's copies of descriptors (QEMU keeps its own). */
export function closeFds(fds: readonly number[]): void {
  for (const fd of fds) libc().close(fd);
}

/**
 * Attaches a tap for each `ethernet` interface and points its `-netdev` at the descriptor
 * (`tap,id=hostnetN,fd=…[,vhost=on,vhostfd=…]`). On a failure every descriptor opened so far is
 * closed before the error is thrown.
 *
 * @param definition The domain.
 * @param args The command line's arguments.
 * @returns The new arguments and the descriptors QEMU must inherit.
 * @throws {VirtError} What {@linkcode openTap} and {@linkcode openVhostNet} throw.
 *
 * @example
 * ```ts ignore
 * const { args, fds } = attachTaps(definition, commandLine.args);
 * ```
 */
export function attachTaps(
  definition: DomainDefinition,
  args: readonly string[],
): { args: string[]; fds: number[]; scripts: InterfaceScript[] } {
  const result = [...args];
  const fds: number[] = [];
  const scripts: InterfaceScript[] = [];
  try {
    definition.devices.interfaces.forEach((nic, index) => {
      if (nic.type !== "ethernet" && !isBridgedInterface(nic)) return;
      const id = `hostnet${index}`;
      const position = result.findIndex((arg) =>
        arg.startsWith(`tap,id=${id},`) || arg === `tap,id=${id}`
      );
      if (position < 0) return;
      const where = `/domain/devices/interface[${index + 1}]`;
      const tap = openTap(nic.target?.dev, where);
      fds.push(tap.fd);
      const vhost = /(^|,)vhost=on(,|$)/.test(result[position]);
      const vhostFd = vhost ? openVhostNet(where) : undefined;
      if (vhostFd !== undefined) fds.push(vhostFd);
      const script = nic.extra?.elements?.find((placed) => placed.element.name === "script")
        ?.element.attributes?.path;
      if (script !== undefined) scripts.push({ path: script, tap: tap.name });
      result[position] = qemuOption("tap", {
        id,
        fd: String(tap.fd),
        vhost: vhost ? true : undefined,
        vhostfd: vhostFd === undefined ? undefined : String(vhostFd),
      });
    });
  } catch (error) {
    closeFds(fds);
    throw error;
  }
  return { args: result, fds, scripts };
}

/** An interface's `<script>`, run by the service with the tap's name (as libvirt does). */
export interface InterfaceScript {
  path: string;
  tap: string;
}

/** Longest run of an interface script, in ms. */
export const INTERFACE_SCRIPT_TIMEOUT_MS = 30_000;

/**
 * Runs each interface's script with its tap's name, once QEMU runs (paused) and the service no
 * longer holds the taps' descriptors.
 *
 * @throws {VirtError} INTERNAL_ERROR (1) as libvirt's for a script that fails or times out.
 *
 * @example
 * ```ts ignore
 * await runInterfaceScripts([{ path: "/etc/qemu-ifup", tap: "vnet0" }]);
 * ```
 */
export async function runInterfaceScripts(scripts: readonly InterfaceScript[]): Promise<void> {
  for (const { path, tap } of scripts) {
    let output: Deno.CommandOutput;
    try {
      output = await new Deno.Command(path, {
        args: [tap],
        stdin: "null",
        stdout: "null",
        stderr: "piped",
        signal: AbortSignal.timeout(INTERFACE_SCRIPT_TIMEOUT_MS),
      }).output();
    } catch (error) {
      throw new VirtError(
        ErrorCode.INTERNAL_ERROR,
        `Cannot run ${path} ${tap}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    if (!output.success) {
      throw new VirtError(
        ErrorCode.INTERNAL_ERROR,
        `Child process (${path} ${tap}) unexpected exit status ${output.code}: ${
          new TextDecoder().decode(output.stderr).trim()
        }`,
      );
    }
  }
}

/**
 * Refuses an interface `<script>` where QEMU would have to run it under its sandbox, which
 * denies it every exec (`spawn=deny`): an unprivileged service cannot make taps to run it itself.
 *
 * @throws {VirtError} CONFIG_UNSUPPORTED (67) naming the script.
 */
export function refuseSandboxedScripts(definition: DomainDefinition): void {
  definition.devices.interfaces.forEach((nic, index) => {
    const script = nic.extra?.elements?.some((placed) => placed.element.name === "script");
    if (nic.type === "ethernet" && script) {
      throw refuseConfig(
        `/domain/devices/interface[${index + 1}]/script`,
        "qemu's sandbox forbids it to run an interface script (spawn=deny)",
      );
    }
  });
}
