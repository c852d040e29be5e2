/**
 * Claiming a unix socket path at start: a socket file left by a crashed service is removed, but
 * only when a connect to it is refused; a socket something still answers on is an error, so a
 * second service never steals a running one's path.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";

/** How long a connect to an existing socket may take when checking whether it is stale, in ms. */
export const STALE_CHECK_TIMEOUT_MS = 1000;

/**
 * Removes the socket file at `path` when nothing listens on it; nothing to do when absent.
 * Throws {@linkcode VirtError} (code 1, OPERATION_FAILED) when the path is not a socket, when
 * another process answers on it (the message ends with `busyHint`, what the user may do), or
 * when the check itself fails or times out.
 *
 * @example
 * ```ts ignore
 * await removeStaleSocket("/run/evirt/api.sock", "stop it or use another EVIRT_RUNTIME_DIR");
 * ```
 */
export async function removeStaleSocket(path: string, busyHint: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }
  if (!info.isSocket) {
    throw new VirtError(
      ErrorCode.OPERATION_FAILED,
      `'${path}' exists and is not a socket; refusing to replace it`,
    );
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const connection = await Promise.race([
      Deno.connect({ transport: "unix", path }),
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error("timeout")), STALE_CHECK_TIMEOUT_MS);
      }),
    ]);
    connection.close();
  } catch (error) {
    if (error instanceof Deno.errors.ConnectionRefused || error instanceof Deno.errors.NotFound) {
      await removeIfPresent(path);
      return;
    }
    throw new VirtError(
      ErrorCode.OPERATION_FAILED,
      `cannot check socket '${path}': ${(error as Error).message}`,
    );
  } finally {
    clearTimeout(timer);
  }
  throw new VirtError(
    ErrorCode.OPERATION_FAILED,
    `another service is listening on '${path}'; ${busyHint}`,
  );
}

/** Removes `path`; already gone is fine. */
export async function removeIfPresent(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}
