/**
 * Loop devices for storage tests: a sparse image attached with `losetup -f --show`, and a
 * cleanup that undoes everything a test made on it — mounts below a directory, a volume group,
 * the loop device, the image — even when the test failed half-way. Plus the skip reasons of
 * tests that need loop devices, LVM, or the kernel's device-mapper (logical volumes).
 *
 * @module
 */

import { findCommand } from "../../src/service/find_command.ts";

function commandOk(program: string, args: string[]): boolean {
  if (findCommand(program) === undefined) return false;
  try {
    const output = new Deno.Command(program, {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "null",
      env: { LVM_SUPPRESS_FD_WARNINGS: "1" },
    }).outputSync();
    return output.code === 0;
  } catch {
    return false;
  }
}

/** Why loop devices cannot be made here, or undefined when they can. */
export function loopDeviceSkip(): string | undefined {
  if (Deno.uid() !== 0) return "needs root to attach loop devices";
  if (findCommand("losetup") === undefined) return "needs losetup";
  if (!commandOk("losetup", ["-f"])) return "no free loop device (losetup -f failed)";
  return undefined;
}

/** Why LVM cannot run here, or undefined when it can. */
export function lvmSkip(): string | undefined {
  const loop = loopDeviceSkip();
  if (loop !== undefined) return loop;
  for (const program of ["pvcreate", "vgcreate", "vgchange", "vgremove", "lvs", "vgs", "pvs"]) {
    if (findCommand(program) === undefined) return `needs lvm2 (${program})`;
  }
  return undefined;
}

/** Why logical volumes cannot be made here (LVM, and the kernel's device-mapper), or undefined. */
export function deviceMapperSkip(): string | undefined {
  const lvm = lvmSkip();
  if (lvm !== undefined) return lvm;
  try {
    if (/device-mapper/.test(Deno.readTextFileSync("/proc/misc"))) return undefined;
  } catch {
    // No /proc/misc: the kernel is not telling.
  }
  return "the kernel's device-mapper is not available (no logical volume can be activated)";
}

async function run(program: string, args: string[]): Promise<{ code: number; stdout: string }> {
  const output = await new Deno.Command(program, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { LVM_SUPPRESS_FD_WARNINGS: "1", DM_DISABLE_UDEV: "1" },
    signal: AbortSignal.timeout(60_000),
  }).output();
  return { code: output.code, stdout: new TextDecoder().decode(output.stdout) };
}

/** A loop device on a sparse image. */
export interface LoopDevice {
  /** `/dev/loopN`. */
  device: string;
  /** The image file. */
  image: string;
}

/**
 * Attaches a sparse image of `sizeBytes` in `dir` as a loop device.
 *
 * @throws {Error} When losetup fails.
 */
export async function attachLoopDevice(dir: string, sizeBytes: number): Promise<LoopDevice> {
  const image = `${dir}/loop-${crypto.randomUUID().slice(0, 8)}.img`;
  const file = await Deno.open(image, { write: true, createNew: true });
  await file.truncate(sizeBytes);
  file.close();
  const attached = await run("losetup", ["-f", "--show", image]);
  if (attached.code !== 0) {
    await Deno.remove(image);
    throw new Error(`losetup -f --show ${image} failed`);
  }
  return { device: attached.stdout.trim(), image };
}

/**
 * Undoes what a test made: unmounts everything mounted below `dir` (deepest first), removes
 * the volume groups named, then detaches the loop devices. Each step runs even when another
 * failed; the first failure is thrown at the end.
 */
export async function cleanUpStorage(
  dir: string,
  volumeGroups: string[],
  loops: LoopDevice[],
): Promise<void> {
  const failures: string[] = [];
  const mounts = Deno.readTextFileSync("/proc/mounts").split("\n")
    .map((line) => line.split(" ")[1]?.replace(/\\040/g, " "))
    .filter((mount): mount is string => mount !== undefined && mount.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const mount of mounts) {
    if ((await run("umount", [mount])).code !== 0) failures.push(`umount ${mount}`);
  }
  for (const group of volumeGroups) {
    if ((await run("vgs", [group])).code !== 0) continue;
    await run("vgchange", ["-aln", group]);
    if ((await run("vgremove", ["-f", group])).code !== 0) failures.push(`vgremove ${group}`);
  }
  for (const loop of loops) {
    await run("pvremove", ["-ff", "-y", loop.device]).catch(() => undefined);
    if ((await run("losetup", ["-d", loop.device])).code !== 0) {
      failures.push(`losetup -d ${loop.device}`);
    }
  }
  if (failures.length > 0) throw new Error(`cleanup failed: ${failures.join(", ")}`);
}
