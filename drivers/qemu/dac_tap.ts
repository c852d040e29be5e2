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
import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import { refuseConfig } from "./config_refusal.ts";
import { qemuOption } from "./qemu_option.ts";

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

const SYMBOLS = {
  open: { parameters: ["buffer", "i32"], result: "i32" },
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

let library: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;

function libc(): Deno.DynamicLibrary<typeof SYMBOLS>["symbols"] {
  library ??= Deno.dlopen("libc.so.6", SYMBOLS);
  return library.symbols;
}

function errno(): number {
  const pointer = libc().__errno_location();
  return pointer === null ? 0 : new Deno.UnsafePointerView(pointer).getInt32();
}

function openDevice(path: string, where: string): number {
  const fd = libc().open(new TextEncoder().encode(`${path}\0`) as Uint8Array<ArrayBuffer>, O_RDWR);
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
  const fd = openDevice("/dev/net/tun", where);
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
      if (nic.type !== "ethernet") return;
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
