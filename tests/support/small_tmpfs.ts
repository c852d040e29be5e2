/**
 * A small tmpfs mounted for one test, which the test can fill to the last byte and free again:
 * a real full disk under the event log. Mounting needs root; {@linkcode TMPFS_SKIP_REASON} says
 * why a test must be skipped where it cannot mount.
 *
 * @module
 */

/** A mounted small tmpfs. */
export interface SmallTmpfs {
  /** The mount point. */
  dir: string;
  /** Writes a filler file until the file system has no byte left. */
  fill(): Promise<void>;
  /** Removes the filler file. */
  free(): Promise<void>;
}

const FILLER_FILE = ".filler";

/** Why tests on a tmpfs cannot run here, or undefined when they can. */
export const TMPFS_SKIP_REASON: string | undefined = probeMount();

/**
 * Mounts a tmpfs of `sizeKiB` in a new temporary folder, runs `fn`, then unmounts it and removes
 * the folder, whatever `fn` did.
 *
 * @param sizeKiB The file system's size.
 * @param fn The test body.
 */
export async function withSmallTmpfs(
  sizeKiB: number,
  fn: (tmpfs: SmallTmpfs) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "evirt-tmpfs-" });
  try {
    mount(dir, sizeKiB);
    try {
      await fn({ dir, fill: () => fill(dir), free: () => Deno.remove(`${dir}/${FILLER_FILE}`) });
    } finally {
      unmount(dir);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function fill(dir: string): Promise<void> {
  const file = await Deno.open(`${dir}/${FILLER_FILE}`, {
    write: true,
    create: true,
    append: true,
  });
  try {
    // Big chunks first, then ever smaller ones, so the very last free byte is taken.
    for (let chunkBytes = 256 * 1024; chunkBytes >= 1; chunkBytes = Math.floor(chunkBytes / 4)) {
      const chunk = new Uint8Array(chunkBytes).fill(0x5a);
      for (;;) {
        try {
          const written = await file.write(chunk);
          if (written < chunkBytes) break;
        } catch {
          break;
        }
      }
    }
  } finally {
    file.close();
  }
}

function mount(dir: string, sizeKiB: number): void {
  const result = new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", `size=${sizeKiB}k,mode=0700`, "tmpfs", dir],
    stdout: "null",
    stderr: "piped",
  }).outputSync();
  if (!result.success) {
    throw new Error(`Cannot mount a tmpfs on ${dir}: ${new TextDecoder().decode(result.stderr)}`);
  }
}

function unmount(dir: string): void {
  const result = new Deno.Command("umount", { args: [dir], stdout: "null", stderr: "piped" })
    .outputSync();
  if (!result.success) {
    throw new Error(`Cannot unmount ${dir}: ${new TextDecoder().decode(result.stderr)}`);
  }
}

function probeMount(): string | undefined {
  if (Deno.build.os !== "linux") return "a tmpfs needs Linux";
  if (Deno.uid() !== 0) return "mounting a tmpfs needs root";
  let dir: string | undefined;
  try {
    dir = Deno.makeTempDirSync({ prefix: "evirt-tmpfs-probe-" });
    mount(dir, 64);
    unmount(dir);
    return undefined;
  } catch (error) {
    return `cannot mount a tmpfs here: ${(error as Error).message.trim()}`;
  } finally {
    if (dir !== undefined) Deno.removeSync(dir, { recursive: true });
  }
}
