/**
 * Temporary directories for test bodies.
 *
 * @module
 */

/**
 * Makes a temporary directory named `prefix…` that the unprivileged QEMU user may pass through
 * (mode 0711): a root service runs QEMU as that user (libvirt's DAC driver), and QEMU opens its
 * pid file, monitor socket and images below the directory. `parent`: where (default: the
 * system temporary folder).
 */
export function searchableTempDirSync(prefix?: string, parent?: string): string {
  const dir = Deno.makeTempDirSync({
    ...(prefix === undefined ? {} : { prefix }),
    ...(parent === undefined ? {} : { dir: parent }),
  });
  Deno.chmodSync(dir, 0o711);
  return dir;
}

/**
 * Runs `fn` with a fresh temporary directory named `prefix…`, removed afterwards even on error.
 * With `searchable`, the QEMU user may pass through it ({@linkcode searchableTempDirSync}).
 */
export async function withTempDir(
  prefix: string,
  fn: (dir: string) => Promise<void>,
  options: { searchable?: boolean } = {},
): Promise<void> {
  const dir = options.searchable
    ? searchableTempDirSync(prefix)
    : await Deno.makeTempDir({ prefix });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
