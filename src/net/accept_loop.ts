/**
 * The accept loop shared by the HTTP API and libvirt's protocol: accepts connections until the
 * listener closes, and survives a failed accept (out of descriptors, a reset before accept) by
 * pausing, so a descriptor shortage slows the service down instead of stopping its listener.
 *
 * @module
 */

/** First pause of an accept loop after a failed accept, in ms. */
export const ACCEPT_BACKOFF_MIN_MS = 10;
/** Longest pause of an accept loop after failed accepts (the pause doubles up to it), in ms. */
export const ACCEPT_BACKOFF_MAX_MS = 1000;

/** Options of {@linkcode acceptLoop}. */
export interface AcceptLoopOptions {
  /** Prefix of the loop's log lines, naming the listener. */
  name: string;
  /** Where failed accepts are reported. */
  log: (message: string) => void;
  /** Failed accepts are reported at most once per this interval (with their count), in ms. */
  reportIntervalMs: number;
}

/**
 * Accepts connections until the listener closes (the promise then resolves). Each connection
 * is handed to `onConnection`, whose promise is awaited before the next accept, so a handler
 * that refuses connections holds one descriptor at a time however fast a flood arrives. A
 * handler that throws has its connection closed; the loop goes on.
 *
 * @example
 * ```ts ignore
 * const done = acceptLoop(listener, { name: "unix:/run/x", log, reportIntervalMs: 1000 }, serve);
 * listener.close();
 * await done;
 * ```
 */
export async function acceptLoop<C extends Deno.Conn>(
  listener: Deno.Listener<C>,
  options: AcceptLoopOptions,
  onConnection: (conn: C) => void | Promise<void>,
): Promise<void> {
  let backoffMs = 0;
  let failures = 0;
  let reportedMs = 0;
  // An accept loop is meant to run until its listener closes.
  for (;;) {
    let conn: C;
    try {
      conn = await listener.accept();
      backoffMs = 0;
    } catch (error) {
      if (error instanceof Deno.errors.BadResource || error instanceof Deno.errors.Interrupted) {
        return;
      }
      failures++;
      if (Date.now() - reportedMs >= options.reportIntervalMs) {
        options.log(
          `${options.name}: accept failed ${failures} time(s): ${(error as Error).message}`,
        );
        reportedMs = Date.now();
        failures = 0;
      }
      backoffMs = Math.min(ACCEPT_BACKOFF_MAX_MS, Math.max(ACCEPT_BACKOFF_MIN_MS, backoffMs * 2));
      await new Promise((resolve) => setTimeout(resolve, backoffMs));
      continue;
    }
    try {
      await onConnection(conn);
    } catch {
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
  }
}
