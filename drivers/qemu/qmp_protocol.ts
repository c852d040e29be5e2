/**
 * The QMP wire protocol: newline-delimited JSON framing with a line limit, the greeting,
 * `qmp_capabilities` negotiation, command ids, reply matching and the separation of events from
 * replies. Policy (timeouts, queueing, event delivery, the transcript) lives in
 * `qmp_monitor.ts`; this layer only moves and classifies messages.
 *
 * The exchange (QEMU 7.2): QEMU sends `{"QMP": {"version": …, "capabilities": […]}}`; the client
 * sends `{"execute": "qmp_capabilities", "id": 1}` and gets `{"return": {}, "id": 1}`; then each
 * command `{"execute", "arguments"?, "id"}` is answered by `{"return": …, "id"}` or
 * `{"error": {"class", "desc"}, "id"}`, while events `{"event", "data"?, "timestamp"}` arrive at
 * any time, also between a command and its reply. QEMU ends its lines with `\r\n`.
 *
 * @module
 */

import { QmpDisconnectedError, QmpProtocolError } from "./qmp_errors.ts";

/**
 * Longest line accepted from QEMU, in bytes. Generous because `query-named-block-nodes` on a
 * domain with many disks and long backing chains is one line; a longer line is a protocol error.
 */
export const QMP_LINE_MAX_BYTES = 8 * 1024 * 1024;

/** Size of one socket read, in bytes. */
export const QMP_READ_CHUNK_BYTES = 64 * 1024;

/** How much of an offending line an error message quotes, in characters. */
export const QMP_EXCERPT_MAX_CHARS = 80;

/** The QEMU version in the greeting and in `query-version`. */
export interface QmpVersion {
  /** Upstream version numbers. */
  qemu: { major: number; minor: number; micro: number };
  /** Distribution package string, e.g. `Debian 1:7.2+dfsg-7`. */
  package: string;
}

/** QEMU's greeting, the first line on a monitor connection. */
export interface QmpGreeting {
  /** QEMU's version. */
  version: QmpVersion;
  /** Capabilities QEMU offers (e.g. `oob`); evirt enables none. */
  capabilities: string[];
}

/** When QEMU emitted an event (host clock). */
export interface QmpTimestamp {
  /** Seconds since the Unix epoch. */
  seconds: number;
  /** Microseconds within the second. */
  microseconds: number;
}

/** An asynchronous event, e.g. `{event: "STOP", data: {}, timestamp}`. */
export interface QmpEvent {
  /** Event name, e.g. `SHUTDOWN`, `RESET`, `BLOCK_IO_ERROR`. */
  event: string;
  /** Event payload; `{}` when QEMU sent none. */
  data: Record<string, unknown>;
  /** When QEMU emitted it. */
  timestamp: QmpTimestamp;
}

/** The outcome of one command as this layer sees it. */
export type QmpOutcome =
  | { kind: "return"; value: unknown }
  | { kind: "error"; errorClass: string; desc: string }
  | { kind: "ended"; error: QmpDisconnectedError | QmpProtocolError };

/** One parsed line from QEMU. */
export type QmpMessage =
  | { kind: "greeting"; greeting: QmpGreeting }
  | { kind: "event"; event: QmpEvent }
  | { kind: "return"; id: unknown; value: unknown }
  | { kind: "error"; id: unknown; errorClass: string; desc: string };

/** The byte stream under a {@linkcode QmpProtocol}; a `Deno.UnixConn` is one. */
export interface QmpTransport {
  /** Reads into `buffer`; resolves the byte count, or null at end of file. */
  read(buffer: Uint8Array): Promise<number | null>;
  /** Writes some of `data`; resolves how many bytes were written. */
  write(data: Uint8Array): Promise<number>;
  /** Closes the stream; a pending read then rejects or resolves null. */
  close(): void;
}

/** What a {@linkcode QmpProtocol} reports to its owner, synchronously from the reader. */
export interface QmpProtocolHooks {
  /** An event arrived. Must not block: queue it and return. */
  onEvent(event: QmpEvent, line: string): void;
  /** A command line was handed to the transport (for the transcript). */
  onSend(id: number, execute: string, line: string): void;
  /**
   * A reply arrived. `execute` names the pending command it answers, or is undefined when no
   * pending command had its id (the reply is then dropped).
   */
  onReply(id: unknown, line: string, execute: string | undefined): void;
  /** The connection ended; called once, after every pending command got its `ended` outcome. */
  onEnd(error: QmpDisconnectedError | QmpProtocolError, unfinishedLineBytes: number): void;
}

/** Options of {@linkcode QmpProtocol}. */
export interface QmpProtocolOptions {
  /** Longest accepted line in bytes. Default {@linkcode QMP_LINE_MAX_BYTES}. */
  lineMaxBytes?: number;
}

/**
 * Splits a byte stream into lines, refusing a line longer than a limit. Bytes may arrive in any
 * pieces (one at a time, several lines at once); `\r\n` and `\n` both end a line and blank
 * lines are skipped.
 *
 * @example Reassembling a split line
 * ```ts
 * import { QmpLineSplitter } from "./qmp_protocol.ts";
 * const splitter = new QmpLineSplitter(1024);
 * const bytes = new TextEncoder().encode('{"return": {}}\r\n');
 * console.log(splitter.push(bytes.subarray(0, 5))); // []
 * console.log(splitter.push(bytes.subarray(5))); // ['{"return": {}}']
 * ```
 */
export class QmpLineSplitter {
  readonly #lineMaxBytes: number;
  readonly #decoder = new TextDecoder("utf-8", { fatal: true });
  #buffer = new Uint8Array(256);
  #length = 0;

  /**
   * Creates an empty splitter.
   *
   * @param lineMaxBytes Longest accepted line, in bytes, not counting the line end.
   * @throws {RangeError} When `lineMaxBytes` is not a positive integer.
   */
  constructor(lineMaxBytes: number) {
    if (!Number.isSafeInteger(lineMaxBytes) || lineMaxBytes <= 0) {
      throw new RangeError(`Line limit must be a positive integer, received ${lineMaxBytes}`);
    }
    this.#lineMaxBytes = lineMaxBytes;
  }

  /** Bytes of an unfinished line held so far. */
  get pendingBytes(): number {
    return this.#length;
  }

  /**
   * Adds bytes and returns the lines they complete, without line ends.
   *
   * @throws {QmpProtocolError} When a line exceeds the limit or is not valid UTF-8.
   */
  push(chunk: Uint8Array): string[] {
    const lines: string[] = [];
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(0x0a, start);
      if (newline === -1) {
        this.#append(chunk.subarray(start));
        break;
      }
      this.#append(chunk.subarray(start, newline));
      const line = this.#take();
      if (line.trim() !== "") lines.push(line);
      start = newline + 1;
    }
    return lines;
  }

  #append(part: Uint8Array): void {
    if (part.length === 0) return;
    const needed = this.#length + part.length;
    // The limit counts a trailing '\r' too: it is at most one byte of slack.
    if (needed > this.#lineMaxBytes + 1) {
      throw new QmpProtocolError(`line longer than ${this.#lineMaxBytes} bytes`);
    }
    if (needed > this.#buffer.length) {
      const grown = new Uint8Array(
        Math.min(Math.max(needed, this.#buffer.length * 2), this.#lineMaxBytes + 1),
      );
      grown.set(this.#buffer.subarray(0, this.#length));
      this.#buffer = grown;
    }
    this.#buffer.set(part, this.#length);
    this.#length = needed;
  }

  #take(): string {
    let end = this.#length;
    if (end > 0 && this.#buffer[end - 1] === 0x0d) end -= 1;
    this.#length = 0;
    if (end > this.#lineMaxBytes) {
      throw new QmpProtocolError(`line longer than ${this.#lineMaxBytes} bytes`);
    }
    try {
      return this.#decoder.decode(this.#buffer.subarray(0, end));
    } catch (error) {
      throw new QmpProtocolError("line is not valid UTF-8", { cause: error });
    }
  }
}

/**
 * Classifies one line from QEMU.
 *
 * @param line One line, without its line end.
 * @returns The greeting, an event, or a reply (`id` as QEMU echoed it).
 * @throws {QmpProtocolError} When the line is not JSON or not one of QMP's message shapes.
 *
 * @example Classifying a reply
 * ```ts
 * import { parseQmpMessage } from "./qmp_protocol.ts";
 * const message = parseQmpMessage('{"return": {"status": "running"}, "id": 7}');
 * console.log(message.kind); // "return"
 * ```
 */
export function parseQmpMessage(line: string): QmpMessage {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (error) {
    throw new QmpProtocolError(`line is not JSON: '${excerpt(line)}'`, { cause: error });
  }
  if (!isRecord(parsed)) {
    throw new QmpProtocolError(`line is not a JSON object: '${excerpt(line)}'`);
  }
  if ("QMP" in parsed) return { kind: "greeting", greeting: parseGreeting(parsed.QMP, line) };
  if (typeof parsed.event === "string") return { kind: "event", event: parseEvent(parsed, line) };
  if ("return" in parsed) return { kind: "return", id: parsed.id, value: parsed.return };
  if ("error" in parsed) {
    const error = parsed.error;
    if (!isRecord(error) || typeof error.class !== "string" || typeof error.desc !== "string") {
      throw new QmpProtocolError(`error reply without class and desc: '${excerpt(line)}'`);
    }
    return { kind: "error", id: parsed.id, errorClass: error.class, desc: error.desc };
  }
  throw new QmpProtocolError(`unrecognised message: '${excerpt(line)}'`);
}

/**
 * The line that sends one command, ending in `\n`.
 *
 * @param id The command id QEMU echoes in its reply.
 * @param execute The command name.
 * @param args The command's arguments; omitted from the line when undefined.
 *
 * @example Encoding a command
 * ```ts
 * import { encodeQmpCommand } from "./qmp_protocol.ts";
 * console.log(encodeQmpCommand(3, "stop")); // '{"execute":"stop","id":3}\n'
 * ```
 */
export function encodeQmpCommand(
  id: number,
  execute: string,
  args?: Record<string, unknown>,
): string {
  const message = args === undefined ? { execute, id } : { execute, arguments: args, id };
  return `${JSON.stringify(message)}\n`;
}

type Pending = { execute: string; settle: (outcome: QmpOutcome) => void };

/**
 * One QMP connection at the wire level: reads lines, hands events and replies to its hooks,
 * numbers commands (ids start at 1) and matches replies to them. It does no queueing and no
 * timing: several commands may be outstanding, and a reply whose id is not pending (a late
 * reply to an abandoned command) is reported and dropped.
 *
 * Any line that is not QMP ends the connection with a {@linkcode QmpProtocolError}: after
 * garbage there is no telling which reply was lost. End of file or a read error ends it with a
 * {@linkcode QmpDisconnectedError} (`eof`); {@linkcode QmpProtocol.close} with one (`closed`).
 * Either way every outstanding command gets an `ended` outcome.
 *
 * @example Over a Unix socket
 * ```ts ignore
 * import { QmpProtocol } from "./qmp_protocol.ts";
 * const conn = await Deno.connect({ transport: "unix", path: "/run/evirt/vm.qmp" });
 * const protocol = new QmpProtocol(conn, {
 *   onEvent: (event) => console.log(event.event),
 *   onSend: () => {},
 *   onReply: () => {},
 *   onEnd: (error) => console.log(error.message),
 * });
 * await protocol.negotiate();
 * protocol.send("query-status", undefined, (outcome) => console.log(outcome));
 * ```
 */
export class QmpProtocol {
  readonly #transport: QmpTransport;
  readonly #hooks: QmpProtocolHooks;
  readonly #splitter: QmpLineSplitter;
  readonly #encoder = new TextEncoder();
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #greeting: QmpGreeting | undefined;
  #greetingWaiters: Array<(outcome: QmpGreeting | Error) => void> = [];
  #writeChain: Promise<void> = Promise.resolve();
  #endError: QmpDisconnectedError | QmpProtocolError | undefined;
  readonly #done: Promise<void>;

  /**
   * Starts reading from `transport` at once.
   *
   * @param transport The connected byte stream; this object owns it from now on.
   * @param hooks Where events, replies and the end are reported.
   * @param options The line limit.
   */
  constructor(transport: QmpTransport, hooks: QmpProtocolHooks, options: QmpProtocolOptions = {}) {
    this.#transport = transport;
    this.#hooks = hooks;
    this.#splitter = new QmpLineSplitter(options.lineMaxBytes ?? QMP_LINE_MAX_BYTES);
    this.#done = this.#readLoop();
  }

  /** The error that ended the connection, or undefined while it is open. */
  get endError(): QmpDisconnectedError | QmpProtocolError | undefined {
    return this.#endError;
  }

  /** Resolves once the reader has stopped and the transport is closed. */
  get done(): Promise<void> {
    return this.#done;
  }

  /** Number of commands sent and not yet answered or abandoned. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /**
   * Waits for the greeting, sends `qmp_capabilities` and waits for its reply. Has no timeout of
   * its own: the caller races it against one and calls {@linkcode close} on expiry.
   *
   * @returns The greeting.
   * @throws {QmpDisconnectedError | QmpProtocolError} When the connection ends first.
   * @throws {QmpProtocolError} When QEMU refuses `qmp_capabilities`.
   */
  async negotiate(): Promise<QmpGreeting> {
    const greeting = await this.#waitGreeting();
    const outcome = await new Promise<QmpOutcome>((resolve) =>
      this.send("qmp_capabilities", undefined, resolve)
    );
    if (outcome.kind === "ended") throw outcome.error;
    if (outcome.kind === "error") {
      throw new QmpProtocolError(`qmp_capabilities refused: ${outcome.desc}`);
    }
    return greeting;
  }

  /**
   * Sends one command. `settle` is called exactly once: with QEMU's reply, or with `ended` when
   * the connection ends first. It is never called after {@linkcode abandon} for that id.
   *
   * @param execute The command name.
   * @param args Its arguments, or undefined for none.
   * @param settle Receives the outcome.
   * @returns The command's id and the exact line sent (for the transcript).
   */
  send(
    execute: string,
    args: Record<string, unknown> | undefined,
    settle: (outcome: QmpOutcome) => void,
  ): { id: number; line: string } {
    const id = this.#nextId;
    // 2^53 commands would take millennia; reaching it means the counter is corrupted.
    if (!Number.isSafeInteger(id + 1)) throw new Error("QMP command ids exhausted");
    this.#nextId = id + 1;
    const line = encodeQmpCommand(id, execute, args);
    if (this.#endError !== undefined) {
      settle({ kind: "ended", error: this.#endError });
      return { id, line };
    }
    this.#pending.set(id, { execute, settle });
    this.#hooks.onSend(id, execute, line.trimEnd());
    const bytes = this.#encoder.encode(line);
    // Writes are chained so two commands' bytes never interleave, even after a timeout.
    this.#writeChain = this.#writeChain.then(() => this.#writeAll(bytes));
    return { id, line };
  }

  /**
   * Forgets a sent command (it timed out or was aborted): its reply, if it ever comes, is
   * reported to `onReply` as unmatched and dropped.
   *
   * @returns Whether the id was pending.
   */
  abandon(id: number): boolean {
    return this.#pending.delete(id);
  }

  /**
   * Ends the connection; outstanding commands end with `error`. Harmless once ended.
   *
   * @param error What ends it: by default `QmpDisconnectedError("closed")`; the monitor passes a
   *   protocol error when it gives up on the stream (e.g. event queue overflow).
   */
  close(error: QmpDisconnectedError | QmpProtocolError = new QmpDisconnectedError("closed")): void {
    this.#end(error);
  }

  #waitGreeting(): Promise<QmpGreeting> {
    if (this.#greeting !== undefined) return Promise.resolve(this.#greeting);
    if (this.#endError !== undefined) return Promise.reject(this.#endError);
    return new Promise((resolve, reject) => {
      this.#greetingWaiters.push((outcome) =>
        outcome instanceof Error ? reject(outcome) : resolve(outcome)
      );
    });
  }

  async #writeAll(bytes: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < bytes.length && this.#endError === undefined) {
      try {
        const written = await this.#transport.write(bytes.subarray(offset));
        if (written <= 0) throw new Error(`write made no progress (${written} bytes)`);
        offset += written;
      } catch (error) {
        this.#end(new QmpDisconnectedError("eof", { cause: error }));
      }
    }
  }

  async #readLoop(): Promise<void> {
    const buffer = new Uint8Array(QMP_READ_CHUNK_BYTES);
    // Endless by design: each pass reads once; the loop ends at end of file, on a read error,
    // on a protocol error, or when close() ended the connection.
    while (this.#endError === undefined) {
      let count: number | null;
      try {
        count = await this.#transport.read(buffer);
      } catch (error) {
        this.#end(new QmpDisconnectedError("eof", { cause: error }));
        break;
      }
      if (count === null) {
        this.#end(new QmpDisconnectedError("eof"));
        break;
      }
      try {
        for (const line of this.#splitter.push(buffer.subarray(0, count))) {
          this.#handleLine(line);
          if (this.#endError !== undefined) break;
        }
      } catch (error) {
        this.#end(
          error instanceof QmpProtocolError
            ? error
            : new QmpProtocolError("unexpected failure while reading", { cause: error }),
        );
      }
    }
  }

  #handleLine(line: string): void {
    const message = parseQmpMessage(line);
    switch (message.kind) {
      case "greeting":
        if (this.#greeting !== undefined) throw new QmpProtocolError("second greeting");
        this.#greeting = message.greeting;
        for (const waiter of this.#greetingWaiters.splice(0)) waiter(message.greeting);
        return;
      case "event":
        this.#requireGreeting(line);
        this.#hooks.onEvent(message.event, line);
        return;
      case "return":
      case "error":
        this.#requireGreeting(line);
        this.#handleReply(message, line);
        return;
    }
  }

  #requireGreeting(line: string): void {
    if (this.#greeting === undefined) {
      throw new QmpProtocolError(`message before the greeting: '${excerpt(line)}'`);
    }
  }

  #handleReply(
    message: Extract<QmpMessage, { kind: "return" | "error" }>,
    line: string,
  ): void {
    // evirt numbers every command, so a reply without a numeric id cannot be paired: QEMU sends
    // those only for requests it could not parse, which means the stream is out of step.
    if (typeof message.id !== "number") {
      throw new QmpProtocolError(`reply without a command id: '${excerpt(line)}'`);
    }
    const pending = this.#pending.get(message.id);
    this.#hooks.onReply(message.id, line, pending?.execute);
    if (pending === undefined) return;
    this.#pending.delete(message.id);
    pending.settle(
      message.kind === "return"
        ? { kind: "return", value: message.value }
        : { kind: "error", errorClass: message.errorClass, desc: message.desc },
    );
  }

  #end(error: QmpDisconnectedError | QmpProtocolError): void {
    if (this.#endError !== undefined) return;
    this.#endError = error;
    try {
      this.#transport.close();
    } catch {
      // Already closed by the peer; nothing left to release.
    }
    for (const waiter of this.#greetingWaiters.splice(0)) waiter(error);
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const command of pending) command.settle({ kind: "ended", error });
    this.#hooks.onEnd(error, this.#splitter.pendingBytes);
  }
}

function parseGreeting(value: unknown, line: string): QmpGreeting {
  if (!isRecord(value) || !isRecord(value.version) || !Array.isArray(value.capabilities)) {
    throw new QmpProtocolError(`malformed greeting: '${excerpt(line)}'`);
  }
  return {
    version: parseVersion(value.version, line),
    capabilities: value.capabilities.map(String),
  };
}

/**
 * Checks the shape of a QEMU version object (greeting and `query-version`).
 *
 * @param value The parsed value.
 * @param context Text quoted in the error.
 * @throws {QmpProtocolError} When a number or the package string is missing.
 */
export function parseVersion(value: unknown, context: string): QmpVersion {
  const qemu = isRecord(value) ? value.qemu : undefined;
  if (
    !isRecord(value) || !isRecord(qemu) || typeof qemu.major !== "number" ||
    typeof qemu.minor !== "number" || typeof qemu.micro !== "number"
  ) {
    throw new QmpProtocolError(`malformed version: '${excerpt(context)}'`);
  }
  return {
    qemu: { major: qemu.major, minor: qemu.minor, micro: qemu.micro },
    package: typeof value.package === "string" ? value.package : "",
  };
}

function parseEvent(value: Record<string, unknown>, line: string): QmpEvent {
  const { data, timestamp } = value;
  if (data !== undefined && !isRecord(data)) {
    throw new QmpProtocolError(`event data is not an object: '${excerpt(line)}'`);
  }
  if (
    !isRecord(timestamp) || typeof timestamp.seconds !== "number" ||
    typeof timestamp.microseconds !== "number"
  ) {
    throw new QmpProtocolError(`event without a timestamp: '${excerpt(line)}'`);
  }
  return {
    event: value.event as string,
    data: data ?? {},
    timestamp: { seconds: timestamp.seconds, microseconds: timestamp.microseconds },
  };
}

/** Whether `value` is a plain JSON object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function excerpt(text: string): string {
  return text.length > QMP_EXCERPT_MAX_CHARS ? `${text.slice(0, QMP_EXCERPT_MAX_CHARS)}…` : text;
}
