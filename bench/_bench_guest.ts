/**
 * The test guest as the save/restore and live migration benchmarks run it: 256 MiB of RAM, under
 * evirt (its definition, the serial console in a file) and under a bare QEMU this script starts
 * (no sandbox, a QMP socket); the kill by pid every QEMU started ends with; and the run of a
 * benchmark's rounds in a folder of its own.
 *
 * @module
 */

import { QmpMonitor } from "../drivers/qemu/qmp_monitor.ts";
import { parsePositiveInteger } from "../src/config/config.ts";
import type { DomainDefinition } from "../src/model/domain.ts";
import { waitForExit } from "../src/host/process_state.ts";
import {
  GUEST_KERNEL_CMDLINE_DEFAULT,
  guestInitrdPath,
  guestKernelPath,
  guestSkipReason,
} from "../tests/support/guest.ts";
import { guestDefinition } from "../tests/integration/_qemu_guest.ts";
import { searchableTempDirSync } from "../tests/support/temp_dir.ts";

/** The guest's RAM in MiB: enough that moving its memory is most of a save or a migration. */
export const GUEST_MIB = 256;

/** What the guest does beside booting. */
export interface BenchGuestOptions {
  /** Counts on its console five times a second (`evirt.count=1`). */
  counting?: boolean;
  /** Appends to the serial file (a file two QEMUs of one guest share) instead of truncating it. */
  append?: boolean;
}

/** The guest's evirt definition: `name`, its serial console written to `serial`. */
export function benchGuestDefinition(
  name: string,
  serial: string,
  options: BenchGuestOptions = {},
): DomainDefinition {
  const definition = guestDefinition(name, { serial: { file: serial } });
  definition.memoryKiB = GUEST_MIB * 1024;
  if (options.counting) definition.os.cmdline = `${definition.os.cmdline} evirt.count=1`;
  if (options.append) definition.devices.serials[0].sources[0].append = "on";
  return definition;
}

/** A bare QEMU of the guest and its QMP monitor. */
export interface BareQemu {
  pid: number;
  monitor: QmpMonitor;
}

/**
 * Starts the guest under a bare QEMU (daemonized; `<dir>/<name>.qmp`, `<dir>/<name>.pid`), its
 * serial console written to `serial`; `incoming` (`defer`, `exec:…`) makes it wait for a stream.
 */
export async function startBareQemu(
  dir: string,
  name: string,
  serial: string,
  options: BenchGuestOptions & { incoming?: string } = {},
): Promise<BareQemu> {
  const socket = `${dir}/${name}.qmp`;
  const pidFile = `${dir}/${name}.pid`;
  const cmdline = GUEST_KERNEL_CMDLINE_DEFAULT + (options.counting ? " evirt.count=1" : "");
  const output = await new Deno.Command("qemu-system-x86_64", {
    args: [
      ..."-machine q35 -m".split(" "),
      String(GUEST_MIB),
      "-kernel",
      guestKernelPath()!,
      "-initrd",
      guestInitrdPath,
      "-append",
      cmdline,
      "-chardev",
      `file,id=serial0,path=${serial}${options.append ? ",append=on" : ""}`,
      ..."-serial chardev:serial0 -display none -nodefaults -qmp".split(" "),
      `unix:${socket},server=on,wait=off`,
      "-daemonize",
      "-pidfile",
      pidFile,
      ...(options.incoming === undefined ? [] : ["-incoming", options.incoming]),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) throw new Error(new TextDecoder().decode(output.stderr));
  const pid = Number(Deno.readTextFileSync(pidFile).trim());
  return { pid, monitor: await QmpMonitor.connect(socket) };
}

/** Kills `pid` with SIGKILL and waits up to `timeoutMs` for it to be gone. */
export async function killPid(pid: number, timeoutMs: number): Promise<void> {
  try {
    Deno.kill(pid, "SIGKILL");
  } catch {
    return;
  }
  await waitForExit(pid, { timeoutMs }).catch(() => {});
}

/**
 * Runs `rounds` (`EVIRT_BENCH_ITERATIONS`, default 3) in a fresh folder named `<prefix>…`,
 * removed after; prints why instead when the test guest is absent.
 */
export async function withBenchGuest(
  prefix: string,
  rounds: (dir: string, count: number) => Promise<void>,
): Promise<void> {
  const skip = guestSkipReason();
  if (skip !== undefined) {
    console.log(`skipped: ${skip}`);
    return;
  }
  const count = parsePositiveInteger(Deno.env.toObject(), "EVIRT_BENCH_ITERATIONS", 3);
  const dir = searchableTempDirSync(prefix);
  try {
    await rounds(dir, count);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}
