/**
 * The QMP monitor of one QEMU process: connection lifecycle and policy on top of the wire
 * protocol (`qmp_protocol.ts`).
 *
 * - **Connect**: retries a missing or refusing socket every
 *   {@linkcode QMP_CONNECT_RETRY_INTERVAL_MS} until the connect timeout, then reads the greeting
 *   and negotiates `qmp_capabilities`, all within that one timeout.
 * - **One command in flight**: callers queue (at most {@linkcode QMP_COMMAND_QUEUE_MAX} waiting;
 *   more are refused with {@linkcode QmpBusyError}); the next command is sent once the previous
 *   one is answered, timed out or aborted.
 * - **Timeouts per command class** ({@linkcode qmpCommandClass}): queries
 *   {@linkcode QMP_QUERY_TIMEOUT_MS}, actions (VM control, block/device/netdev/chardev changes)
 *   {@linkcode QMP_ACTION_TIMEOUT_MS}, heavy commands {@linkcode QMP_HEAVY_TIMEOUT_MS}; the clock
 *   starts when the command is sent, not while it waits in the queue.
 * - **Timeout policy**: a timed-out (or aborted) command fails alone with
 *   {@linkcode QmpTimeoutError} (or {@linkcode QmpAbortedError}); the connection stays open and the
 *   next command is sent. Ids never go out of step: a late reply to the abandoned id is dropped
 *   and noted in the transcript. Whether QEMU is alive at all is for the caller to ask with
 *   {@linkcode QmpMonitor.ping} (an unresponsive QEMU times out every command; a dead one ends the
 *   connection with end of file).
 * - **Garbage policy**: a line that is not QMP (not JSON, unknown shape, a reply without an id,
 *   longer than the line limit) ends the connection with {@linkcode QmpProtocolError}: every
 *   pending and queued command fails with it and `closed` reports `protocol`. After garbage a
 *   reply may have been lost, so no later answer could be trusted to belong to its command;
 *   reconnecting (QEMU accepts a new client once the old one is gone) starts clean.
 * - **End of file** fails every pending and queued command with {@linkcode QmpDisconnectedError}
 *   (`eof`).
 * - **Events** go, in arrival order, to the `onEvent` handler, one call at a time (an async
 *   handler is awaited before the next event), from a queue of at most
 *   {@linkcode QMP_EVENT_QUEUE_MAX}, so a slow handler never stalls the reader. If the handler
 *   falls that far behind, the connection ends with a protocol error naming the overflow (an
 *   event silently lost could be a SHUTDOWN). Every event received before the connection ended,
 *   whichever side ended it, is delivered before `closed` resolves.
 * - **Transcript**: with a `log`, every command, reply, event and connection note is written to
 *   it (`qmp_log.ts`); the monitor does not close the log, so one log can span reconnects.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import {
  QmpAbortedError,
  QmpBusyError,
  QmpCommandError,
  QmpConnectError,
  QmpDisconnectedError,
  QmpProtocolError,
  QmpTimeoutError,
} from "./qmp_errors.ts";
import type { QmpLog } from "./qmp_log.ts";
import {
  isRecord,
  type QmpEvent,
  type QmpGreeting,
  type QmpOutcome,
  QmpProtocol,
  type QmpTransport,
} from "./qmp_protocol.ts";

/** Default bound on connecting, reading the greeting and negotiating, in milliseconds. */
export const QMP_CONNECT_TIMEOUT_MS = 5000;

/** Pause between connect attempts while the socket is missing or refusing, in milliseconds. */
export const QMP_CONNECT_RETRY_INTERVAL_MS = 10;

/** Default timeout of a query (`query-*`, `qom-get`), in milliseconds. */
export const QMP_QUERY_TIMEOUT_MS = 500;

/** Default timeout of an action (VM control, block/device/netdev/chardev changes), in milliseconds. */
export const QMP_ACTION_TIMEOUT_MS = 5000;

/** Default timeout of a heavy command (snapshots, dumps, migration, HMP), in milliseconds. */
export const QMP_HEAVY_TIMEOUT_MS = 30000;

/** Default timeout of {@linkcode QmpMonitor.ping}, in milliseconds. */
export const QMP_PING_TIMEOUT_MS: number = QMP_QUERY_TIMEOUT_MS;

/** Commands that may wait for their turn behind the one in flight. */
export const QMP_COMMAND_QUEUE_MAX = 64;

/** Events received and not yet handed to the handler. */
export const QMP_EVENT_QUEUE_MAX = 1024;

/** Abandoned (timed-out or aborted) command ids remembered to name their late replies. */
export const QMP_ABANDONED_IDS_MAX = 64;

/** Longest accepted command name, in characters. */
export const QMP_COMMAND_NAME_MAX_CHARS = 128;

/** How long a command may take by default; see {@linkcode qmpCommandClass}. */
export type QmpCommandClass = "query" | "action" | "heavy";

/** The default timeout of each command class, in milliseconds. */
export const QMP_TIMEOUT_MS_BY_CLASS: Readonly<Record<QmpCommandClass, number>> = {
  query: QMP_QUERY_TIMEOUT_MS,
  action: QMP_ACTION_TIMEOUT_MS,
  heavy: QMP_HEAVY_TIMEOUT_MS,
};

const QUERY_COMMANDS: ReadonlySet<string> = new Set([
  "qom-get",
  "qom-list",
  "qom-list-types",
  "ringbuf-read",
]);

const HEAVY_COMMANDS: ReadonlySet<string> = new Set([
  "human-monitor-command",
  "dump-guest-memory",
  "screendump",
  "migrate",
  "migrate-incoming",
  "snapshot-save",
  "snapshot-load",
  "snapshot-delete",
  "blockdev-create",
  "transaction",
  "xen-save-devices-state",
]);

/**
 * The class that sets a command's default timeout: `query` for `query-*` and `qom-get`-like
 * reads, `heavy` for commands that copy or save a lot of state (and `human-monitor-command`,
 * which can run anything), `action` for everything else (stop, cont, system_*, balloon,
 * blockdev/device/netdev/chardev add and remove…).
 *
 * @example Classing commands
 * ```ts
 * import { qmpCommandClass } from "./qmp_monitor.ts";
 * console.log(qmpCommandClass("query-status"), qmpCommandClass("blockdev-add")); // "query" "action"
 * ```
 */
export function qmpCommandClass(execute: string): QmpCommandClass {
  if (execute.startsWith("query-") || QUERY_COMMANDS.has(execute)) return "query";
  if (HEAVY_COMMANDS.has(execute)) return "heavy";
  return "action";
}

/** How a monitor connection ended. */
export interface QmpMonitorClosed {
  /**
   * `eof`: QEMU closed the socket (usually: it exited); `closed`: {@linkcode QmpMonitor.close};
   * `protocol`: garbage on the stream or an event queue overflow.
   */
  reason: "eof" | "closed" | "protocol";
  /** The error every pending and queued command failed with. */
  error: QmpDisconnectedError | QmpProtocolError;
}

/** Receives events, one call at a time, in arrival order. */
export type QmpEventHandler = (event: QmpEvent) => void | Promise<void>;

/** Options of {@linkcode QmpMonitor.connect}. */
export interface QmpConnectOptions {
  /** Bound on connect + greeting + negotiation. Default {@linkcode QMP_CONNECT_TIMEOUT_MS}. */
  connectTimeoutMs?: number;
  /** Aborts the connect (not the connection once made: use {@linkcode QmpMonitor.close}). */
  signal?: AbortSignal;
  /** The per-domain transcript; the monitor writes to it but never closes it. */
  log?: QmpLog;
  /** Receives events; without one, events are only written to the log. */
  onEvent?: QmpEventHandler;
  /** Told when `onEvent` throws or rejects (the failure is also noted in the log). */
  onEventError?: (error: unknown, event: QmpEvent) => void;
  /** Longest accepted line. Default `QMP_LINE_MAX_BYTES` of `qmp_protocol.ts`. */
  lineMaxBytes?: number;
  /** Bound of the event queue. Default {@linkcode QMP_EVENT_QUEUE_MAX}. */
  eventQueueMax?: number;
  /** Bound of the command queue. Default {@linkcode QMP_COMMAND_QUEUE_MAX}. */
  commandQueueMax?: number;
}

/** Options of {@linkcode QmpMonitor.execute}. */
export interface QmpExecuteOptions {
  /** Reply timeout once sent. Default: by {@linkcode qmpCommandClass}. */
  timeoutMs?: number;
  /** Aborts the command while queued or in flight. */
  signal?: AbortSignal;
}

interface Job {
  execute: string;
  args: Record<string, unknown> | undefined;
  timeoutMs: number;
  signal: AbortSignal | undefined;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  id: number | undefined;
  timer: ReturnType<typeof setTimeout> | undefined;
  onAbort: (() => void) | undefined;
  settled: boolean;
}

/**
 * A connected, negotiated QMP monitor. See the module documentation for its policies.
 *
 * @example Pausing a domain and waiting for the STOP event
 * ```ts ignore
 * import { QmpMonitor } from "./qmp_monitor.ts";
 * const monitor = await QmpMonitor.connect("/run/evirt/vm.qmp", {
 *   onEvent: (event) => console.log(event.event), // "STOP"
 * });
 * await monitor.execute("stop");
 * console.log(await monitor.execute("query-status")); // { status: "paused", running: false, ... }
 * await monitor.close();
 * ```
 */
export class QmpMonitor {
  /** The socket this monitor is connected to. */
  readonly socketPath: string;
  /** Resolves (never rejects) once the connection has ended and event delivery has finished. */
  readonly closed: Promise<QmpMonitorClosed>;
  readonly #protocol: QmpProtocol;
  readonly #log: QmpLog | undefined;
  readonly #onEvent: QmpEventHandler | undefined;
  readonly #onEventError: ((error: unknown, event: QmpEvent) => void) | undefined;
  readonly #eventQueueMax: number;
  readonly #commandQueueMax: number;
  readonly #queue: Job[] = [];
  readonly #events: QmpEvent[] = [];
  readonly #abandoned = new Map<number, string>();
  #active: Job | undefined;
  /** Set by closeWhenAnswered: no new command is sent any more. */
  #closing = false;
  readonly #answeredWaiters = new Set<() => void>();
  #delivering: Promise<void> | undefined;
  #greeting: QmpGreeting | undefined;
  #resolveClosed!: (closed: QmpMonitorClosed) => void;

  private constructor(socketPath: string, transport: QmpTransport, options: QmpConnectOptions) {
    this.socketPath = socketPath;
    this.#log = options.log;
    this.#onEvent = options.onEvent;
    this.#onEventError = options.onEventError;
    this.#eventQueueMax = positiveInteger(
      options.eventQueueMax,
      QMP_EVENT_QUEUE_MAX,
      "eventQueueMax",
    );
    this.#commandQueueMax = positiveInteger(
      options.commandQueueMax,
      QMP_COMMAND_QUEUE_MAX,
      "commandQueueMax",
    );
    this.closed = new Promise((resolve) => this.#resolveClosed = resolve);
    this.#protocol = new QmpProtocol(transport, {
      onEvent: (event, line) => this.#receiveEvent(event, line),
      onSend: (_id, execute, line) => this.#log?.command(execute, line),
      onReply: (id, line, execute) => this.#receiveReply(id, line, execute),
      onEnd: (error, unfinishedLineBytes) => this.#end(error, unfinishedLineBytes),
    }, { lineMaxBytes: options.lineMaxBytes });
  }

  /**
   * Connects to a QMP socket, reads the greeting and negotiates capabilities.
   *
   * @param socketPath The monitor's Unix socket (QEMU `-chardev socket,server=on,wait=off`).
   * @param options Timeout, abort signal, transcript, event handler, bounds.
   * @returns The negotiated monitor.
   * @throws {VirtError} INVALID_ARG (8) for an empty or over-long path or a bad bound.
   * @throws {QmpConnectError} When the socket is missing or refusing until the timeout, or cannot
   *   be connected at all.
   * @throws {QmpTimeoutError} When the greeting or negotiation does not finish in time (e.g.
   *   another client holds QEMU's single monitor connection).
   * @throws {QmpAbortedError} When `signal` fires.
   * @throws {QmpDisconnectedError | QmpProtocolError} When the connection ends or speaks no QMP.
   */
  static async connect(socketPath: string, options: QmpConnectOptions = {}): Promise<QmpMonitor> {
    checkSocketPath(socketPath);
    const timeoutMs = positiveInteger(
      options.connectTimeoutMs,
      QMP_CONNECT_TIMEOUT_MS,
      "connectTimeoutMs",
    );
    // Checked before connecting so a bad bound never leaves a socket half set up.
    positiveInteger(options.eventQueueMax, QMP_EVENT_QUEUE_MAX, "eventQueueMax");
    positiveInteger(options.commandQueueMax, QMP_COMMAND_QUEUE_MAX, "commandQueueMax");
    positiveInteger(options.lineMaxBytes, 1, "lineMaxBytes");
    const deadline = performance.now() + timeoutMs;
    const conn = await connectSocket(socketPath, deadline, options.signal);
    const monitor = new QmpMonitor(socketPath, conn, options);
    try {
      monitor.#greeting = await raceDeadline(
        monitor.#protocol.negotiate(),
        deadline,
        options.signal,
        () => new QmpTimeoutError("qmp_capabilities", timeoutMs),
        (reason) => new QmpAbortedError("connect", { cause: reason }),
      );
    } catch (error) {
      monitor.#protocol.close();
      await monitor.#protocol.done;
      throw error;
    }
    const version = monitor.#greeting.version.qemu;
    monitor.#log?.note(
      `connected to ${socketPath}: QEMU ${version.major}.${version.minor}.${version.micro}`,
    );
    return monitor;
  }

  /** QEMU's greeting (version and offered capabilities). */
  get greeting(): QmpGreeting {
    if (this.#greeting === undefined) throw new Error("QmpMonitor used before negotiation");
    return this.#greeting;
  }

  /** Whether the connection has ended (commands then fail at once). */
  get isClosed(): boolean {
    return this.#protocol.endError !== undefined;
  }

  /** Commands in flight or waiting. */
  get pendingCount(): number {
    return this.#queue.length + (this.#active === undefined ? 0 : 1);
  }

  /**
   * Runs one command and returns its `return` value.
   *
   * @typeParam T The type of QEMU's `return` value (not checked here; see `qmp_commands.ts`).
   * @param execute The command name, e.g. `query-status`.
   * @param args Its arguments, or undefined for none.
   * @param options Timeout (default by class) and abort signal.
   * @returns QEMU's `return` value.
   * @throws {VirtError} INVALID_ARG (8) for a malformed name, arguments or timeout.
   * @throws {QmpCommandError} When QEMU answers with an error.
   * @throws {QmpTimeoutError} When no reply comes within the timeout.
   * @throws {QmpAbortedError} When `signal` fires first.
   * @throws {QmpBusyError} When {@linkcode QMP_COMMAND_QUEUE_MAX} commands already wait.
   * @throws {QmpDisconnectedError | QmpProtocolError} When the connection ends first.
   */
  execute<T = unknown>(
    execute: string,
    args?: Record<string, unknown>,
    options: QmpExecuteOptions = {},
  ): Promise<T> {
    let timeoutMs: number;
    try {
      checkCommand(execute, args);
      timeoutMs = positiveInteger(
        options.timeoutMs,
        QMP_TIMEOUT_MS_BY_CLASS[qmpCommandClass(execute)],
        "timeoutMs",
      );
    } catch (error) {
      return Promise.reject(error);
    }
    const ended = this.#protocol.endError;
    if (ended !== undefined) return Promise.reject(ended);
    if (this.#closing) return Promise.reject(new QmpDisconnectedError("closed"));
    if (options.signal?.aborted) {
      return Promise.reject(new QmpAbortedError(execute, { cause: options.signal.reason }));
    }
    if (this.#queue.length >= this.#commandQueueMax) {
      return Promise.reject(new QmpBusyError(execute, this.#commandQueueMax));
    }
    return new Promise<T>((resolve, reject) => {
      const job: Job = {
        execute,
        args,
        timeoutMs,
        signal: options.signal,
        resolve: resolve as (value: unknown) => void,
        reject,
        id: undefined,
        timer: undefined,
        onAbort: undefined,
        settled: false,
      };
      if (job.signal !== undefined) {
        job.onAbort = () =>
          this.#abandon(job, new QmpAbortedError(execute, { cause: job.signal?.reason }));
        job.signal.addEventListener("abort", job.onAbort, { once: true });
      }
      this.#queue.push(job);
      this.#pump();
    });
  }

  /**
   * Asks QEMU for its version to tell "QEMU is alive and answering" from "this command failed".
   *
   * @param options Timeout (default {@linkcode QMP_PING_TIMEOUT_MS}) and abort signal.
   * @returns True when QEMU answered in time; false when it timed out or the connection ended.
   * @throws {QmpAbortedError} When `signal` fires.
   * @throws {QmpBusyError} When the command queue is full.
   */
  async ping(options: QmpExecuteOptions = {}): Promise<boolean> {
    try {
      await this.execute("query-version", undefined, {
        timeoutMs: options.timeoutMs ?? QMP_PING_TIMEOUT_MS,
        signal: options.signal,
      });
      return true;
    } catch (error) {
      if (
        error instanceof QmpTimeoutError || error instanceof QmpDisconnectedError ||
        error instanceof QmpProtocolError
      ) {
        return false;
      }
      throw error;
    }
  }

  /**
   * Closes the connection once QEMU has answered every command already sent on it (abandoned
   * ones included), or after `timeoutMs`. Commands not yet sent fail at once, as do new ones.
   *
   * Why: QEMU 7.2 that receives SIGTERM while it still dispatches a QMP command hangs in its
   * monitor clean-up until it is killed; ending a QEMU through a quiet monitor avoids that.
   *
   * @param timeoutMs Longest wait for the answers, in ms.
   * @returns Whether every sent command was answered before the close.
   *
   * @example
   * ```ts ignore
   * await monitor.closeWhenAnswered(QMP_QUERY_TIMEOUT_MS);
   * ```
   */
  async closeWhenAnswered(timeoutMs: number): Promise<boolean> {
    positiveInteger(timeoutMs, 1, "timeoutMs");
    this.#closing = true;
    const refused = new QmpDisconnectedError("closed");
    for (const job of this.#queue.splice(0)) {
      this.#finish(job);
      job.reject(refused);
    }
    const answered = await new Promise<boolean>((resolve) => {
      const settle = (value: boolean) => {
        clearTimeout(timer);
        this.#answeredWaiters.delete(check);
        resolve(value);
      };
      const check = () => {
        if (this.#protocol.endError !== undefined) settle(false);
        else if (this.#active === undefined && this.#abandoned.size === 0) settle(true);
      };
      const timer = setTimeout(() => settle(false), timeoutMs);
      this.#answeredWaiters.add(check);
      check();
    });
    await this.close();
    return answered;
  }

  #notifyAnswered(): void {
    for (const check of [...this.#answeredWaiters]) check();
  }

  /**
   * Closes the connection: pending and queued commands fail with `QmpDisconnectedError`
   * (`closed`). Resolves once the socket is closed; `closed` resolves when the events already
   * received have also been handed to the handler. Closing twice is harmless.
   */
  async close(): Promise<void> {
    this.#protocol.close();
    await this.#protocol.done;
  }

  #pump(): void {
    if (this.#active !== undefined || this.#protocol.endError !== undefined) return;
    const job = this.#queue.shift();
    if (job === undefined) return;
    this.#active = job;
    const { id } = this.#protocol.send(
      job.execute,
      job.args,
      (outcome) => this.#settle(job, outcome),
    );
    job.id = id;
    job.timer = setTimeout(
      () => this.#abandon(job, new QmpTimeoutError(job.execute, job.timeoutMs)),
      job.timeoutMs,
    );
  }

  #settle(job: Job, outcome: QmpOutcome): void {
    if (job.settled) return;
    this.#finish(job);
    switch (outcome.kind) {
      case "return":
        job.resolve(outcome.value);
        break;
      case "error":
        job.reject(new QmpCommandError(job.execute, outcome.errorClass, outcome.desc));
        break;
      case "ended":
        job.reject(outcome.error);
        break;
    }
    this.#pump();
  }

  /** Fails a queued or in-flight job on timeout or abort, leaving the connection in step. */
  #abandon(job: Job, error: QmpTimeoutError | QmpAbortedError): void {
    if (job.settled) return;
    const queued = this.#queue.indexOf(job);
    if (queued >= 0) {
      this.#queue.splice(queued, 1);
    } else if (job.id !== undefined && this.#protocol.abandon(job.id)) {
      this.#abandoned.set(job.id, job.execute);
      if (this.#abandoned.size > QMP_ABANDONED_IDS_MAX) {
        this.#abandoned.delete(this.#abandoned.keys().next().value!);
      }
      this.#log?.note(`abandoned '${job.execute}' (id ${job.id}): ${error.message}`);
    }
    this.#finish(job);
    job.reject(error);
    this.#pump();
  }

  #finish(job: Job): void {
    job.settled = true;
    if (job.timer !== undefined) clearTimeout(job.timer);
    if (job.onAbort !== undefined) job.signal?.removeEventListener("abort", job.onAbort);
    if (this.#active === job) this.#active = undefined;
    this.#notifyAnswered();
  }

  #receiveReply(id: unknown, line: string, pendingExecute: string | undefined): void {
    if (pendingExecute !== undefined) {
      this.#log?.reply(pendingExecute, line);
      return;
    }
    const execute = typeof id === "number" ? this.#abandoned.get(id) : undefined;
    if (typeof id === "number") this.#abandoned.delete(id);
    this.#notifyAnswered();
    this.#log?.note(
      execute === undefined
        ? `dropped reply to unknown id ${JSON.stringify(id)}: ${line}`
        : `dropped late reply to abandoned '${execute}' (id ${id}): ${line}`,
    );
  }

  #receiveEvent(event: QmpEvent, line: string): void {
    this.#log?.event(line);
    if (this.#onEvent === undefined) return;
    if (this.#events.length >= this.#eventQueueMax) {
      this.#protocol.close(
        new QmpProtocolError(
          `event queue overflow: ${this.#eventQueueMax} events waiting for the handler`,
        ),
      );
      return;
    }
    this.#events.push(event);
    // Delivery starts on a later microtask, so the handler never runs inside the reader.
    this.#delivering ??= Promise.resolve().then(() => this.#deliverEvents());
  }

  async #deliverEvents(): Promise<void> {
    // Ends when the queue is empty; the queue is bounded by #eventQueueMax.
    while (this.#events.length > 0) {
      const event = this.#events.shift()!;
      try {
        await this.#onEvent?.(event);
      } catch (error) {
        this.#reportHandlerError(error, event);
      }
    }
    this.#delivering = undefined;
  }

  #reportHandlerError(error: unknown, event: QmpEvent): void {
    const detail = error instanceof Error ? error.message : String(error);
    this.#log?.note(`event handler failed on ${event.event}: ${detail}`);
    try {
      this.#onEventError?.(error, event);
    } catch {
      // A failing error reporter must not stop event delivery.
    }
  }

  #end(error: QmpDisconnectedError | QmpProtocolError, unfinishedLineBytes: number): void {
    const unfinished = unfinishedLineBytes > 0
      ? ` (${unfinishedLineBytes} bytes of an unfinished line discarded)`
      : "";
    this.#log?.note(`connection ended: ${error.message}${unfinished}`);
    for (const job of this.#queue.splice(0)) {
      this.#finish(job);
      job.reject(error);
    }
    this.#abandoned.clear();
    this.#notifyAnswered();
    const reason = error instanceof QmpDisconnectedError ? error.reason : "protocol";
    const delivering = this.#delivering ?? Promise.resolve();
    delivering.then(() => this.#resolveClosed({ reason, error }));
  }
}

/** Resolves after `ms` or rejects with `abortError` when `signal` fires; cleans up either way. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(new QmpAbortedError("connect", { cause: signal?.reason }));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

async function connectSocket(
  socketPath: string,
  deadline: number,
  signal: AbortSignal | undefined,
): Promise<Deno.UnixConn> {
  let lastError: unknown = new Error("no attempt made");
  // Bounded by the deadline: each pass waits QMP_CONNECT_RETRY_INTERVAL_MS.
  while (true) {
    if (signal?.aborted) throw new QmpAbortedError("connect", { cause: signal.reason });
    try {
      const conn = await Deno.connect({ transport: "unix", path: socketPath });
      if (!signal?.aborted) return conn;
      conn.close();
      throw new QmpAbortedError("connect", { cause: signal.reason });
    } catch (error) {
      if (error instanceof QmpAbortedError) throw error;
      // QEMU creates the socket shortly after it starts; until then it is missing or refusing.
      const retryable = error instanceof Deno.errors.NotFound ||
        error instanceof Deno.errors.ConnectionRefused;
      if (!retryable) throw new QmpConnectError(socketPath, error);
      lastError = error;
    }
    if (performance.now() + QMP_CONNECT_RETRY_INTERVAL_MS >= deadline) {
      throw new QmpConnectError(socketPath, lastError);
    }
    await sleep(QMP_CONNECT_RETRY_INTERVAL_MS, signal);
  }
}

/** Settles like `promise`, or rejects when `deadline` (a `performance.now()` time) passes or `signal` fires. */
function raceDeadline<T>(
  promise: Promise<T>,
  deadline: number,
  signal: AbortSignal | undefined,
  timeoutError: () => Error,
  abortError: (reason: unknown) => Error,
): Promise<T> {
  if (signal?.aborted) return Promise.reject(abortError(signal.reason));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      cleanup();
      reject(abortError(signal?.reason));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(timeoutError());
    }, Math.max(0, deadline - performance.now()));
    const cleanup = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        cleanup();
        resolve(value);
      },
      (error) => {
        cleanup();
        reject(error);
      },
    );
  });
}

/** Linux `sun_path` holds 108 bytes including the terminating NUL. */
const UNIX_SOCKET_PATH_MAX_BYTES = 107;

function checkSocketPath(socketPath: string): void {
  if (typeof socketPath !== "string" || socketPath === "") {
    throw new VirtError(ErrorCode.INVALID_ARG, "monitor socket path must not be empty", {
      where: "socketPath",
    });
  }
  const sizeBytes = new TextEncoder().encode(socketPath).length;
  if (sizeBytes > UNIX_SOCKET_PATH_MAX_BYTES) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      `monitor socket path '${socketPath}' is longer than ${UNIX_SOCKET_PATH_MAX_BYTES} bytes`,
      { where: "socketPath" },
    );
  }
}

function checkCommand(execute: string, args: Record<string, unknown> | undefined): void {
  if (
    typeof execute !== "string" || execute.length > QMP_COMMAND_NAME_MAX_CHARS ||
    !/^[A-Za-z][A-Za-z0-9_.-]*$/.test(execute)
  ) {
    throw new VirtError(ErrorCode.INVALID_ARG, `invalid qemu monitor command name '${execute}'`, {
      where: "execute",
    });
  }
  if (args !== undefined && !isRecord(args)) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      `arguments of qemu monitor command '${execute}' must be an object`,
      { where: "arguments" },
    );
  }
}

function positiveInteger(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new VirtError(ErrorCode.INVALID_ARG, `${name} must be a positive integer, got ${value}`, {
      where: name,
    });
  }
  return value;
}
