/**
 * A temporary directory for the length of a test body.
 *
 * @module
 */

/** Runs `fn` with a fresh temporary directory named `prefix…`, removed afterwards even on error. */
export async function withTempDir(
  prefix: string,
  fn: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
