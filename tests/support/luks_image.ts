/**
 * LUKS-encrypted test images made by qemu-img: a raw LUKS image (`-f luks`) or a qcow2 with
 * LUKS encryption, opened with a passphrase given as a QEMU secret object (in a file, so it
 * is not on qemu-img's command line).
 *
 * @module
 */

/** QEMU's words when its key-derivation benchmark measured no CPU time. */
const UNMEASURED_CPU = "Unable to get accurate CPU usage";
/** Tries of `qemu-img create` when only that went wrong. */
const CREATE_ATTEMPTS = 3;

/**
 * Makes an encrypted image.
 *
 * @param path The image to create.
 * @param format `raw` (a LUKS image) or `qcow2` (qcow2 with `encrypt.format=luks`).
 * @param passphrase The passphrase.
 * @param size qemu-img's size, e.g. `16M`.
 * @throws {Error} With qemu-img's message when it fails.
 */
export async function makeLuksImage(
  path: string,
  format: "raw" | "qcow2",
  passphrase: string,
  size = "16M",
): Promise<void> {
  const keyFile = `${path}.key`;
  Deno.writeTextFileSync(keyFile, passphrase, { mode: 0o600 });
  try {
    const options = format === "raw"
      ? ["-f", "luks", "-o", "key-secret=sec0"]
      : ["-f", "qcow2", "-o", "encrypt.format=luks,encrypt.key-secret=sec0"];
    for (let attempt = 1;; attempt++) {
      const output = await new Deno.Command("qemu-img", {
        args: [
          "create",
          "-q",
          "--object",
          `secret,id=sec0,file=${keyFile}`,
          ...options,
          path,
          size,
        ],
        stdout: "null",
        stderr: "piped",
      }).output();
      if (output.success) return;
      const message = new TextDecoder().decode(output.stderr);
      // QEMU times its key derivation by the thread's CPU time; on a busy virtual machine a
      // round can measure 0 ms and QEMU gives up. Only that is tried again, a few times.
      if (!message.includes(UNMEASURED_CPU) || attempt >= CREATE_ATTEMPTS) {
        throw new Error(`qemu-img create of ${path}: ${message}`);
      }
      await Deno.remove(path).catch(() => {});
    }
  } finally {
    Deno.removeSync(keyFile);
  }
}
