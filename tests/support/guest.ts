/**
 * The tiny test guest built by `tests/fixtures/build_guest.sh` into `.cache/guest/`: where its
 * artefacts are, whether it is built, the console markers its `/init` prints, and a bounded wait
 * for a marker in QEMU's serial log.
 *
 * Tests that boot it register through
 * `testIf(name, guestSkipReason() ?? missing("qemu-system-x86_64"), fn)`, so a machine without
 * the guest counts them as skipped.
 *
 * @module
 */

import { cacheDir, exists, repoDir } from "./environment.ts";

/** Where the build script puts the guest. */
export const guestDir: string = `${cacheDir}/guest`;

/** The uncompressed kernel (preferred: boots faster via PVH). */
export const guestVmlinuxPath: string = `${guestDir}/vmlinux`;

/** The packaged kernel, when the ELF could not be extracted. */
export const guestVmlinuzPath: string = `${guestDir}/vmlinuz`;

/** The initramfs. */
export const guestInitrdPath: string = `${guestDir}/initrd.gz`;

/** The build script. */
export const guestBuildScript: string = `${repoDir}/tests/fixtures/build_guest.sh`;

/** The kernel command line the guest is meant to boot with (see test-guest.md). */
export const GUEST_KERNEL_CMDLINE_DEFAULT =
  "console=ttyS0 quiet panic=-1 cryptomgr.notests noapictimer";

/** Least memory the guest boots in, in MiB (64 panics). */
export const GUEST_MEMORY_MIN_MIB = 80;

/** Printed once acpid listens: a `system_powerdown` from now on powers the guest off. */
export const GUEST_READY_MARKER = "GUEST-READY";

/** The kernel command-line switch that runs an interactive shell on the guest's console. */
export const GUEST_SHELL_SWITCH = "evirt.shell=1";

/**
 * The kernel command-line switch that makes the guest count on its console: `EVIRT-COUNT N`,
 * one line every 200 ms from 1 at boot.
 */
export const GUEST_COUNT_SWITCH = "evirt.count=1";

/**
 * The numbers of the complete `EVIRT-COUNT N` lines of a serial log, in order.
 *
 * @example
 * ```ts
 * serialCounts("EVIRT-COUNT 1\nEVIRT-COUNT 2\nEVIRT-CO"); // [1, 2]
 * ```
 */
export function serialCounts(text: string): number[] {
  const counts: number[] = [];
  // The text after the last newline may be a line still being written ("EVIRT-COUNT 1" of 12).
  for (const line of text.split("\n").slice(0, -1)) {
    const match = /^EVIRT-COUNT ([0-9]{1,9})$/.exec(line.trim());
    if (match !== null) counts.push(Number(match[1]));
  }
  return counts;
}

/** Printed by the ACPI power button handler before `sync; poweroff -f`. */
export const GUEST_POWERDOWN_MARKER = "EVIRT-POWERDOWN";

/** How long a boot to {@linkcode GUEST_READY_MARKER} may take under TCG on a busy machine. */
export const GUEST_BOOT_TIMEOUT_MS = 30_000;

/** Pause between two reads of the serial log while waiting for a marker, in milliseconds. */
export const SERIAL_POLL_INTERVAL_MS = 10;

/** Largest serial log read while waiting for a marker, in bytes. */
export const SERIAL_LOG_MAX_BYTES = 1024 * 1024;

/** One `evirt.write=` item: write `lengthMib` MiB of zeros at `offsetMib` MiB of `/dev/<device>`. */
export interface GuestWrite {
  device: string;
  offsetMib: number;
  lengthMib: number;
}

/**
 * The kernel path to boot: `vmlinux` when built, else `vmlinuz`, else undefined.
 *
 * @example Choosing the kernel
 * ```ts ignore
 * const kernel = guestKernelPath(); // ".../.cache/guest/vmlinux"
 * ```
 */
export function guestKernelPath(): string | undefined {
  if (exists(guestVmlinuxPath)) return guestVmlinuxPath;
  if (exists(guestVmlinuzPath)) return guestVmlinuzPath;
  return undefined;
}

/**
 * Why the guest cannot boot here, or undefined when its kernel and initramfs are built.
 *
 * @example Registering a guest test
 * ```ts ignore
 * testIf("guest boots", guestSkipReason() ?? missing("qemu-system-x86_64"), async () => {});
 * ```
 */
export function guestSkipReason(): string | undefined {
  if (guestKernelPath() === undefined || !exists(guestInitrdPath)) {
    return `needs the test guest (run ${guestBuildScript.slice(repoDir.length + 1)})`;
  }
  return undefined;
}

/**
 * The kernel command line with optional `evirt.write=` items appended.
 *
 * @example Asking for a write
 * ```ts ignore
 * guestKernelCmdline([{ device: "vda", offsetMib: 100, lengthMib: 2 }]);
 * // "console=ttyS0 quiet panic=-1 cryptomgr.notests noapictimer evirt.write=vda:100:2"
 * ```
 */
export function guestKernelCmdline(writes: GuestWrite[] = []): string {
  if (writes.length === 0) return GUEST_KERNEL_CMDLINE_DEFAULT;
  const items = writes.map((write) => {
    if (!/^[a-z0-9]+$/.test(write.device)) throw new Error(`Bad device name ${write.device}`);
    for (const value of [write.offsetMib, write.lengthMib]) {
      if (!Number.isSafeInteger(value) || value < 0) throw new Error(`Bad MiB value ${value}`);
    }
    return `${write.device}:${write.offsetMib}:${write.lengthMib}`;
  });
  return `${GUEST_KERNEL_CMDLINE_DEFAULT} evirt.write=${items.join(",")}`;
}

/** The marker the guest prints after a completed `evirt.write=` item. */
export function guestWriteDoneMarker(write: GuestWrite): string {
  return `EVIRT-WRITE-DONE ${write.device} ${write.offsetMib} ${write.lengthMib}`;
}

/**
 * Waits until the serial log holds `marker` `count` times, reading it every
 * {@linkcode SERIAL_POLL_INTERVAL_MS}.
 *
 * @param serialPath QEMU's serial log (`-chardev file,path=…`).
 * @param marker A line the guest prints.
 * @param options `timeoutMs` bound, `count` of occurrences (default 1; resets print it again).
 * @returns Milliseconds waited.
 * @throws {Error} On timeout, quoting the log's tail.
 */
export async function waitForSerialMarker(
  serialPath: string,
  marker: string,
  options: { timeoutMs: number; count?: number },
): Promise<number> {
  const started = performance.now();
  const count = options.count ?? 1;
  let text = "";
  // Bounded by options.timeoutMs.
  while (performance.now() - started < options.timeoutMs) {
    text = readSerialLog(serialPath);
    if (text.split("\n").filter((line) => line.trim() === marker).length >= count) {
      return performance.now() - started;
    }
    await new Promise((resolve) => setTimeout(resolve, SERIAL_POLL_INTERVAL_MS));
  }
  throw new Error(
    `No ${count}× '${marker}' on the serial console after ${options.timeoutMs} ms; log ends: ${
      JSON.stringify(text.slice(-400))
    }`,
  );
}

/** The serial log so far (at most {@linkcode SERIAL_LOG_MAX_BYTES}), or "" before QEMU made it. */
export function readSerialLog(serialPath: string): string {
  try {
    const bytes = Deno.readFileSync(serialPath);
    return new TextDecoder().decode(bytes.subarray(0, SERIAL_LOG_MAX_BYTES)).replaceAll("\r", "");
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return "";
    throw error;
  }
}
