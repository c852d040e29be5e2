/**
 * `evirt console DOMAIN`: relays a domain's pty serial console to the terminal, as `virsh
 * console` does. The terminal is put in raw mode; Ctrl-] (byte 0x1d) ends the session without
 * being sent to the guest; the session also ends when the pty closes (the domain stopped).
 *
 * The relay itself ({@linkcode relayConsole}) works on any pair of byte streams, so it is tested
 * without a terminal; {@linkcode attachConsole} binds it to a pty path and the process's stdin
 * and stdout.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";

/** The escape byte: Ctrl-] (GS, 0x1d), as in virsh and telnet. */
export const CONSOLE_ESCAPE_BYTE = 0x1d;

/** How a console session ended. */
export type ConsoleEnd = "escape" | "closed" | "aborted";

/** The two ends a console relays between. */
export interface ConsoleEnds {
  /** The guest side: the pty's bytes and a way to write to it. */
  device: { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> };
  /** The user side: the keyboard and the screen. */
  terminal: { input: ReadableStream<Uint8Array>; output: WritableStream<Uint8Array> };
}

/**
 * Relays bytes both ways until the user types Ctrl-], the device ends, or `signal` fires.
 * Bytes typed before Ctrl-] in the same chunk are still sent; nothing after it is.
 *
 * @param ends The device and the terminal.
 * @param signal Ends the session when aborted.
 * @returns Why the session ended.
 *
 * @example
 * ```ts
 * import { relayConsole } from "./console_relay.ts";
 * const typed: Uint8Array[] = [];
 * const keyboard = ReadableStream.from([new Uint8Array([0x61, 0x1d])]);
 * const end = await relayConsole({
 *   device: { readable: new ReadableStream(), writable: new WritableStream({ write: (chunk) => void typed.push(chunk) }) },
 *   terminal: { input: keyboard, output: new WritableStream() },
 * });
 * console.log(end); // "escape"
 * ```
 */
export async function relayConsole(
  ends: ConsoleEnds,
  signal?: AbortSignal,
): Promise<ConsoleEnd> {
  const deviceReader = ends.device.readable.getReader();
  const deviceWriter = ends.device.writable.getWriter();
  const inputReader = ends.terminal.input.getReader();
  const outputWriter = ends.terminal.output.getWriter();
  let finished = false;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<ConsoleEnd>((resolve) => {
    onAbort = () => resolve("aborted");
    if (signal?.aborted) resolve("aborted");
    signal?.addEventListener("abort", onAbort, { once: true });
  });
  const toScreen = (async (): Promise<ConsoleEnd> => {
    // Ends when the device ends or the session finishes (the reader is then cancelled).
    while (!finished) {
      const { done, value } = await deviceReader.read().catch(() => ({
        done: true,
        value: undefined,
      }));
      if (done || value === undefined) return "closed";
      await outputWriter.write(value);
    }
    return "closed";
  })();
  const toDevice = (async (): Promise<ConsoleEnd> => {
    // Ends at Ctrl-], at the end of the keyboard input, or when the session finishes.
    while (!finished) {
      const { done, value } = await inputReader.read().catch(() => ({
        done: true,
        value: undefined,
      }));
      if (done || value === undefined) return "closed";
      const escape = value.indexOf(CONSOLE_ESCAPE_BYTE);
      const bytes = escape < 0 ? value : value.subarray(0, escape);
      if (bytes.length > 0) await deviceWriter.write(bytes).catch(() => {});
      if (escape >= 0) return "escape";
    }
    return "closed";
  })();
  const end = await Promise.race([toScreen, toDevice, aborted]);
  finished = true;
  signal?.removeEventListener("abort", onAbort!);
  await Promise.allSettled([deviceReader.cancel(), inputReader.cancel()]);
  deviceWriter.releaseLock();
  outputWriter.releaseLock();
  return end;
}

/**
 * Attaches the process's terminal to a pty console until Ctrl-] or the pty closes.
 *
 * @param ptyPath The console's pty, e.g. `/dev/pts/3` (the runtime record's `consolePty`).
 * @param options `name` for the greeting; `signal` ends the session.
 * @returns Why the session ended.
 * @throws {VirtError} OPERATION_FAILED (9) when the pty cannot be opened.
 *
 * @example
 * ```ts ignore
 * await attachConsole("/dev/pts/3", { name: "web" });
 * ```
 */
export async function attachConsole(
  ptyPath: string,
  options: { name?: string; signal?: AbortSignal } = {},
): Promise<ConsoleEnd> {
  let device: Deno.FsFile;
  try {
    device = await Deno.open(ptyPath, { read: true, write: true });
  } catch (error) {
    throw new VirtError(
      ErrorCode.OPERATION_FAILED,
      `cannot open console '${ptyPath}': ${(error as Error).message}`,
      { cause: error },
    );
  }
  try {
    return await attachDevice(device, { name: options.name ?? ptyPath, ...options });
  } finally {
    try {
      device.close();
    } catch {
      // Already closed by the stream's cancellation.
    }
  }
}

/**
 * Attaches the process's terminal to a console's byte streams (a pty, or the service's console
 * socket) until Ctrl-] or the device ends.
 *
 * @example
 * ```ts ignore
 * await attachDevice(await openConsoleSocket(path, target), { name: "web" });
 * ```
 */
export async function attachDevice(
  device: { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> },
  options: { name: string; signal?: AbortSignal },
): Promise<ConsoleEnd> {
  const raw = Deno.stdin.isTerminal();
  const encoder = new TextEncoder();
  await Deno.stdout.write(encoder.encode(
    `Connected to domain '${options.name}'\r\nEscape character is ^] (Ctrl + ])\r\n`,
  ));
  if (raw) Deno.stdin.setRaw(true);
  try {
    return await relayConsole({
      device: { readable: device.readable, writable: device.writable },
      terminal: { input: Deno.stdin.readable, output: Deno.stdout.writable },
    }, options.signal);
  } finally {
    if (raw) Deno.stdin.setRaw(false);
    await Deno.stdout.write(encoder.encode("\r\n"));
  }
}
