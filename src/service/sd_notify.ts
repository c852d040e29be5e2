/**
 * systemd's readiness protocol (`sd_notify`): state lines such as `READY=1` sent as one datagram to
 * the unix socket named by `$NOTIFY_SOCKET`, which systemd sets for a `Type=notify` unit.
 *
 * Sent with Deno's unix datagram socket (`Deno.listenDatagram` with `transport: "unixpacket"`, an
 * unstable API enabled by `"unstable": ["net"]` in `deno.json`). Deno binds the sending socket to a
 * path, so each message is sent from a short-lived socket file in the runtime directory, removed
 * right after. An abstract address (`@…`) cannot be reached through a path and is reported instead.
 *
 * @module
 */

/** Sends state lines to systemd; does nothing when the service was not started by systemd. */
export interface Notifier {
  /** Whether a notify socket was given. */
  readonly active: boolean;
  /** Sends `lines` (e.g. `["READY=1", "STATUS=…"]`) as one datagram; failures are logged, never thrown. */
  send(lines: readonly string[]): Promise<void>;
}

/** Largest datagram sent; systemd reads at most a page of state lines at once. */
const NOTIFY_MESSAGE_MAX_BYTES = 4096;

/**
 * A notifier for `$NOTIFY_SOCKET` (`socketPath`), or an inactive one when it is unset.
 *
 * @param socketPath `$NOTIFY_SOCKET`.
 * @param runtimeDir Where the sending socket's file is made (and removed).
 * @param log Where a failure to notify is reported.
 *
 * @example
 * ```ts ignore
 * const notifier = systemdNotifier(Deno.env.get("NOTIFY_SOCKET"), "/run/evirt", console.error);
 * await notifier.send(["READY=1", "STATUS=ready: 3 domains"]);
 * ```
 */
export function systemdNotifier(
  socketPath: string | undefined,
  runtimeDir: string,
  log: (message: string) => void,
): Notifier {
  if (socketPath === undefined || socketPath === "") {
    return { active: false, send: () => Promise.resolve() };
  }
  let sequence = 0;
  return {
    active: true,
    async send(lines) {
      if (socketPath.startsWith("@")) {
        log(`cannot notify systemd: the abstract socket '${socketPath}' has no path`);
        return;
      }
      const message = new TextEncoder().encode(`${lines.join("\n")}\n`);
      if (message.length > NOTIFY_MESSAGE_MAX_BYTES) {
        log(`cannot notify systemd: message of ${message.length} bytes is too long`);
        return;
      }
      const senderPath = `${runtimeDir}/notify-${Deno.pid}-${sequence++}.sock`;
      let sender: Deno.DatagramConn | undefined;
      try {
        sender = Deno.listenDatagram({ transport: "unixpacket", path: senderPath });
        await sender.send(message, { transport: "unixpacket", path: socketPath });
      } catch (error) {
        log(`cannot notify systemd at '${socketPath}': ${(error as Error).message}`);
      } finally {
        sender?.close();
        await Deno.remove(senderPath).catch(() => {});
      }
    },
  };
}
