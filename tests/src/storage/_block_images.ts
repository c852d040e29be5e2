/**
 * Real disk images for block info tests: `qemu-img` / `qemu-io` runs, `qemu-img info`, and loop
 * devices where the machine allows them.
 *
 * @module
 */

import { findCommand } from "../../support/environment.ts";

/** Longest a helper command may run before the test fails. */
const COMMAND_TIMEOUT_MS = 30_000;

/** Runs a command and returns its stdout; throws with its stderr when it fails. */
export async function run(command: string, args: string[]): Promise<string> {
  const output = await new Deno.Command(command, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(COMMAND_TIMEOUT_MS),
  }).output();
  const decoder = new TextDecoder();
  if (!output.success) {
    throw new Error(
      `${command} ${args.join(" ")} failed (${output.code}): ${decoder.decode(output.stderr)}`,
    );
  }
  return decoder.decode(output.stdout);
}

/** `qemu-img info --output=json` of an image (`-U`: QEMU may hold it open). */
export async function qemuImgInfo(
  path: string,
  format: string,
): Promise<{ virtualSizeBytes: number; actualSizeBytes: number }> {
  const info = JSON.parse(
    await run("qemu-img", ["info", "-U", "-f", format, "--output=json", path]),
  );
  return { virtualSizeBytes: info["virtual-size"], actualSizeBytes: info["actual-size"] };
}

/** Writes `lengthBytes` of 0xab at `offsetBytes` through qemu-io, as a guest would. */
export async function qemuIoWrite(
  path: string,
  format: string,
  offsetBytes: number,
  lengthBytes: number,
): Promise<void> {
  await run("qemu-io", ["-f", format, "-c", `write -P 0xab ${offsetBytes} ${lengthBytes}`, path]);
}

/** Runs `fn` with a fresh temporary directory, removed afterwards whatever happens. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "evirt-block-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Why a loop device cannot be used here, or undefined when it can. Decided once by really
 * attaching (and detaching) a loop device to a small file: root alone is not enough inside some
 * containers.
 */
export function loopDeviceSkipReason(): string | undefined {
  if (findCommand("losetup") === undefined) return "needs losetup";
  if (Deno.uid() !== 0) return "needs root to attach a loop device";
  const dir = Deno.makeTempDirSync({ prefix: "evirt-loop-probe-" });
  try {
    const file = `${dir}/probe.img`;
    Deno.writeFileSync(file, new Uint8Array(64 * 1024));
    const attach = new Deno.Command("losetup", {
      args: ["-f", "--show", file],
      stdout: "piped",
      stderr: "piped",
    }).outputSync();
    if (!attach.success) {
      return `cannot attach a loop device: ${new TextDecoder().decode(attach.stderr).trim()}`;
    }
    const device = new TextDecoder().decode(attach.stdout).trim();
    new Deno.Command("losetup", { args: ["-d", device], stdout: "null", stderr: "null" })
      .outputSync();
    return undefined;
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

/** Attaches `file` to a free loop device, runs `fn` with the device path, always detaches. */
export async function withLoopDevice<T>(
  file: string,
  fn: (device: string) => Promise<T>,
): Promise<T> {
  const device = (await run("losetup", ["-f", "--show", file])).trim();
  if (!device.startsWith("/dev/loop")) throw new Error(`losetup answered '${device}'`);
  try {
    return await fn(device);
  } finally {
    await run("losetup", ["-d", device]);
  }
}
