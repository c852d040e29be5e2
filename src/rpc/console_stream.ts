/**
 * `virDomainOpenConsole`'s stream over the service's shared serial consoles: the RPC client is a
 * writer like the web console's, so the one-writer rule holds across both (a second is refused
 * with code 9 "Active console session exists for this domain" unless it forces, which ends the
 * first, as `virsh console --force` does).
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";
import type { ConsoleAttachment, SerialConsoles } from "../host/serial_consoles.ts";
import type { StreamSource } from "./procedure.ts";

/** Output chunks kept for a client reading slower than the console writes; past it, the stream ends. */
export const CONSOLE_STREAM_QUEUE_MAX = 256;

/**
 * Attaches to a domain's console as its writer (or, with `writer` false, a viewer: the web
 * console's read-only callers through another host) and answers it as a stream source.
 *
 * @throws {VirtError} Code 9 when another writer holds the console and `force` is not set (or
 *   the pty cannot be opened); code 87 at the service's bounds of consoles.
 *
 * @example
 * ```ts ignore
 * context.startStream(await consoleStream(target.consoles, uuid, path, false));
 * ```
 */
export async function consoleStream(
  consoles: SerialConsoles,
  domain: string,
  path: string,
  force: boolean,
  writer = true,
): Promise<StreamSource> {
  const queue: Uint8Array[] = [];
  let ended = false;
  let failure: VirtError | undefined;
  let wake: (() => void) | undefined;
  const stop = () => {
    ended = true;
    wake?.();
  };
  // Output may arrive before attach() has answered: the attachment is set when it has.
  let attachment: ConsoleAttachment | undefined = undefined;
  attachment = await consoles.attach(domain, path, { writer, force }, {
    output(bytes) {
      if (ended) return;
      if (queue.length >= CONSOLE_STREAM_QUEUE_MAX) {
        failure = new VirtError(
          ErrorCode.OPERATION_FAILED,
          "the console's output is not read fast enough",
        );
        attachment?.detach();
        stop();
        return;
      }
      queue.push(bytes);
      wake?.();
    },
    // Replaced by a forcing writer, the pty ended or the service stops: the stream ends.
    end: stop,
  });
  const attached = attachment;
  return {
    async read() {
      while (queue.length === 0 && !ended) {
        await new Promise<void>((resolve) => wake = resolve);
        wake = undefined;
      }
      const next = queue.shift();
      if (next !== undefined) return next;
      if (failure !== undefined) throw failure;
      return null;
    },
    write: (bytes) => attached.write(bytes),
    close() {
      queue.length = 0;
      attached.detach();
      stop();
    },
  };
}
