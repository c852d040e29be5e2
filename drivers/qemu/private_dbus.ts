/**
 * A domain's private D-Bus daemon, as libvirt's `qemuDBusStart`: a `<graphics type='dbus'>`
 * without `p2p='yes'` or an `address` gives QEMU's D-Bus display a bus of its own. The daemon
 * runs from a configuration in the domain's runtime folder (listening on a socket there, EXTERNAL
 * authentication, everything allowed, as libvirt's), as QEMU's user, and writes its pid file
 * there. The runtime folder is named in the start's intent before the daemon exists, and the
 * pid file and configuration inside it identify the daemon afterwards: whoever removes the
 * folder (stop, failed start, recovery) ends the daemon first.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import { asUser, type ProcessCredentials } from "./qemu_process.ts";

/** The files of a domain's private bus, all in its runtime folder. */
export interface PrivateBusFiles {
  /** The Unix socket the daemon listens on and QEMU connects to. */
  socket: string;
  /** The daemon's configuration. */
  config: string;
  /** The pid file the daemon writes once it is ready. */
  pidFile: string;
}

/** Longest the daemon may take to be ready, in milliseconds. */
export const PRIVATE_BUS_START_TIMEOUT_MS = 10_000;

/** Most bytes of the daemon's error output kept for an error message. */
const ERROR_OUTPUT_MAX_CHARS = 400;

/**
 * The private bus files of the domain whose runtime folder is `runtimeDir`.
 *
 * @example
 * ```ts
 * import { privateBusFiles } from "./private_dbus.ts";
 * console.log(privateBusFiles("/run/evirt/qemu/1-vm").socket); // "/run/evirt/qemu/1-vm/dbus.sock"
 * ```
 */
export function privateBusFiles(runtimeDir: string): PrivateBusFiles {
  return {
    socket: `${runtimeDir}/dbus.sock`,
    config: `${runtimeDir}/dbus.conf`,
    pidFile: `${runtimeDir}/dbus.pid`,
  };
}

/** The daemon's configuration: libvirt's policy (anyone may own and send anything). */
export function privateBusConfig(files: PrivateBusFiles): string {
  return [
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"`,
    `  "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">`,
    "<busconfig>",
    "  <type>org.libvirt.qemu</type>",
    `  <listen>unix:path=${escapeXml(files.socket)}</listen>`,
    "  <auth>EXTERNAL</auth>",
    `  <pidfile>${escapeXml(files.pidFile)}</pidfile>`,
    "  <policy context='default'>",
    "    <allow send_destination='*' eavesdrop='true'/>",
    "    <allow eavesdrop='true'/>",
    "    <allow own='*'/>",
    "  </policy>",
    "  <include if_selinux_enabled='yes' selinux_root_relative='yes'>contexts/dbus_contexts</include>",
    "</busconfig>",
    "",
  ].join("\n");
}

function escapeXml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

/**
 * Starts the private bus daemon and returns once it listens (`dbus-daemon --fork` exits when
 * its child is ready and has written the pid file).
 *
 * @param files Where its files go (the runtime folder exists and QEMU's user may write there).
 * @param runAs QEMU's user and group, which the daemon runs as; undefined: the service's.
 * @param signal Ends the wait early.
 * @throws {VirtError} SYSTEM_ERROR (38) when `dbus-daemon` is missing, fails or is late.
 */
export async function startPrivateBus(
  files: PrivateBusFiles,
  runAs: ProcessCredentials | undefined,
  signal: AbortSignal,
): Promise<void> {
  Deno.writeTextFileSync(files.config, privateBusConfig(files));
  const daemon = ["dbus-daemon", `--config-file=${files.config}`, "--fork"];
  const argv = asUser(runAs, daemon);
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(argv[0], {
      args: argv.slice(1),
      stdin: "null",
      stdout: "null",
      stderr: "piped",
      signal: AbortSignal.any([signal, AbortSignal.timeout(PRIVATE_BUS_START_TIMEOUT_MS)]),
    }).output();
  } catch (error) {
    stopPrivateBus(files);
    throw new VirtError(
      ErrorCode.SYSTEM_ERROR,
      `cannot start the domain's D-Bus daemon: ${(error as Error).message}`,
    );
  }
  if (!output.success || !exists(files.socket)) {
    stopPrivateBus(files);
    const text = new TextDecoder().decode(output.stderr).trim().slice(0, ERROR_OUTPUT_MAX_CHARS);
    throw new VirtError(
      ErrorCode.SYSTEM_ERROR,
      `the domain's D-Bus daemon did not start: ${text || `exit code ${output.code}`}`,
    );
  }
}

/**
 * Ends the private bus daemon of `files` if one runs: the process its pid file names, when its
 * command line names this configuration (a reused pid is left alone). Safe to call when there
 * is none.
 */
export function stopPrivateBus(files: PrivateBusFiles): void {
  let pid: number;
  try {
    pid = Number(Deno.readTextFileSync(files.pidFile).trim());
  } catch {
    return;
  }
  if (!Number.isSafeInteger(pid) || pid <= 1) return;
  let cmdline: string;
  try {
    cmdline = Deno.readTextFileSync(`/proc/${pid}/cmdline`);
  } catch {
    return;
  }
  if (!cmdline.split("\0").includes(`--config-file=${files.config}`)) return;
  try {
    Deno.kill(pid, "SIGTERM");
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
