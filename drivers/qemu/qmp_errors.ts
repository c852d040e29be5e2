/**
 * The typed errors of evirt's QMP layer. Each is a {@linkcode VirtError} with the libvirt error
 * number a libvirt client would see for the same failure, a stable `name` to compare against,
 * and a message in libvirt's lower-case wording.
 *
 * | class | code | when |
 * | --- | --- | --- |
 * | {@linkcode QmpDisconnectedError} | 9 OPERATION_FAILED | the monitor hit end of file, or was closed |
 * | {@linkcode QmpTimeoutError} | 68 OPERATION_TIMEOUT | no reply (or no greeting) within the timeout |
 * | {@linkcode QmpCommandError} | 1 INTERNAL_ERROR | QEMU answered `{"error": {class, desc}}` |
 * | {@linkcode QmpProtocolError} | 1 INTERNAL_ERROR | the stream is not QMP (garbage, oversized line, overflow) |
 * | {@linkcode QmpAbortedError} | 78 OPERATION_ABORTED | the caller's `AbortSignal` fired |
 * | {@linkcode QmpBusyError} | 87 RESOURCE_BUSY | the per-monitor command queue is full |
 * | {@linkcode QmpConnectError} | 9 OPERATION_FAILED | the socket could not be connected |
 *
 * @module
 */

import { ErrorCode, VirtError } from "../../src/model/errors.ts";

/** Which side ended a monitor connection: `closed` by evirt, or `eof` from QEMU. */
export type QmpDisconnectReason = "closed" | "eof";

/**
 * The monitor connection is gone: QEMU closed it (end of file, usually because the process
 * exited) or evirt closed it. Every pending and queued command fails with it.
 *
 * @example Telling an exit from a local close
 * ```ts
 * import { QmpDisconnectedError } from "./qmp_errors.ts";
 * const error = new QmpDisconnectedError("eof");
 * console.log(error.code, error.reason, error.message); // 9 "eof" "end of file from qemu monitor"
 * ```
 */
export class QmpDisconnectedError extends VirtError {
  /** `eof` when QEMU's side ended the stream, `closed` when evirt closed the monitor. */
  readonly reason: QmpDisconnectReason;

  /**
   * Creates the error.
   *
   * @param reason Which side ended the connection.
   * @param options The underlying error (e.g. a read error), if any.
   */
  constructor(reason: QmpDisconnectReason, options: { cause?: unknown } = {}) {
    super(
      ErrorCode.OPERATION_FAILED,
      reason === "eof" ? "end of file from qemu monitor" : "qemu monitor is closed",
      options,
    );
    this.name = "QmpDisconnectedError";
    this.reason = reason;
  }
}

/**
 * No reply to a command (or no greeting while connecting) within its timeout. The connection
 * stays usable: a late reply to the timed-out id is dropped (and written to the QMP log).
 *
 * @example A timed-out query
 * ```ts
 * import { QmpTimeoutError } from "./qmp_errors.ts";
 * const error = new QmpTimeoutError("query-status", 500);
 * console.log(error.code, error.message);
 * // 68 "timed out waiting for qemu monitor reply to 'query-status' after 500 ms"
 * ```
 */
export class QmpTimeoutError extends VirtError {
  /** The command (or `qmp_capabilities` / `greeting` while connecting). */
  readonly command: string;
  /** The timeout that expired, in milliseconds. */
  readonly timeoutMs: number;

  /**
   * Creates the error.
   *
   * @param command The command that got no reply.
   * @param timeoutMs The timeout that expired.
   */
  constructor(command: string, timeoutMs: number) {
    super(
      ErrorCode.OPERATION_TIMEOUT,
      `timed out waiting for qemu monitor reply to '${command}' after ${timeoutMs} ms`,
    );
    this.name = "QmpTimeoutError";
    this.command = command;
    this.timeoutMs = timeoutMs;
  }
}

/**
 * QEMU refused a command: its reply was `{"error": {"class": ..., "desc": ...}}`.
 *
 * @example A refused device removal
 * ```ts
 * import { QmpCommandError } from "./qmp_errors.ts";
 * const error = new QmpCommandError("device_del", "DeviceNotFound", "Device 'x' not found");
 * console.log(error.class, error.message);
 * // "DeviceNotFound" "unable to execute QEMU command 'device_del': Device 'x' not found"
 * ```
 */
export class QmpCommandError extends VirtError {
  /** The command QEMU refused. */
  readonly command: string;
  /** QEMU's error class, e.g. `GenericError`, `DeviceNotFound`, `CommandNotFound`. */
  readonly class: string;
  /** QEMU's human-readable description. */
  readonly desc: string;

  /**
   * Creates the error.
   *
   * @param command The command QEMU refused.
   * @param errorClass QEMU's error class.
   * @param desc QEMU's description.
   */
  constructor(command: string, errorClass: string, desc: string) {
    super(ErrorCode.INTERNAL_ERROR, `unable to execute QEMU command '${command}': ${desc}`);
    this.name = "QmpCommandError";
    this.command = command;
    this.class = errorClass;
    this.desc = desc;
  }
}

/**
 * What came over the socket is not QMP: a line that is not JSON, not a QMP message, longer than
 * the line limit, a reply evirt cannot match, or a reply whose shape a typed command does not
 * accept. The monitor closes the connection on a stream-level protocol error (see
 * `qmp_monitor.ts`), because it can no longer tell which reply belongs to which command.
 *
 * @example Garbage on the socket
 * ```ts
 * import { QmpProtocolError } from "./qmp_errors.ts";
 * const error = new QmpProtocolError("line is not JSON: 'garbage'");
 * console.log(error.message); // "qemu monitor protocol error: line is not JSON: 'garbage'"
 * ```
 */
export class QmpProtocolError extends VirtError {
  /** The problem, without the common prefix. */
  readonly problem: string;

  /**
   * Creates the error.
   *
   * @param problem What is wrong, completing "qemu monitor protocol error: …".
   * @param options The underlying error, if any.
   */
  constructor(problem: string, options: { cause?: unknown } = {}) {
    super(ErrorCode.INTERNAL_ERROR, `qemu monitor protocol error: ${problem}`, options);
    this.name = "QmpProtocolError";
    this.problem = problem;
  }
}

/**
 * The caller's `AbortSignal` fired before the command (or the connect) finished. A command that
 * was already sent is abandoned: its reply, if it comes, is dropped and logged.
 *
 * @example An aborted command
 * ```ts
 * import { QmpAbortedError } from "./qmp_errors.ts";
 * console.log(new QmpAbortedError("cont").message); // "qemu monitor command 'cont' was aborted"
 * ```
 */
export class QmpAbortedError extends VirtError {
  /** The command that was aborted. */
  readonly command: string;

  /**
   * Creates the error.
   *
   * @param command The command that was aborted (or `connect`).
   * @param options The signal's reason, if any.
   */
  constructor(command: string, options: { cause?: unknown } = {}) {
    super(ErrorCode.OPERATION_ABORTED, `qemu monitor command '${command}' was aborted`, options);
    this.name = "QmpAbortedError";
    this.command = command;
  }
}

/**
 * The monitor's command queue is full: too many callers are waiting for their turn.
 *
 * @example A full queue
 * ```ts
 * import { QmpBusyError } from "./qmp_errors.ts";
 * console.log(new QmpBusyError("query-status", 64).code); // 87
 * ```
 */
export class QmpBusyError extends VirtError {
  /**
   * Creates the error.
   *
   * @param command The command that was refused.
   * @param queueMax The queue bound that was hit.
   */
  constructor(command: string, queueMax: number) {
    super(
      ErrorCode.RESOURCE_BUSY,
      `qemu monitor is busy: ${queueMax} commands already waiting, refusing '${command}'`,
    );
    this.name = "QmpBusyError";
  }
}

/**
 * The monitor socket could not be connected (absent, refused, not a socket) within the connect
 * timeout.
 *
 * @example A missing socket
 * ```ts
 * import { QmpConnectError } from "./qmp_errors.ts";
 * const error = new QmpConnectError("/run/evirt/x.qmp", new Error("No such file or directory"));
 * console.log(error.message);
 * // "failed to connect to monitor socket '/run/evirt/x.qmp': No such file or directory"
 * ```
 */
export class QmpConnectError extends VirtError {
  /** The socket path. */
  readonly socketPath: string;

  /**
   * Creates the error.
   *
   * @param socketPath The socket that could not be connected.
   * @param cause The last connect error.
   */
  constructor(socketPath: string, cause: unknown) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(
      ErrorCode.OPERATION_FAILED,
      `failed to connect to monitor socket '${socketPath}': ${detail}`,
      { cause },
    );
    this.name = "QmpConnectError";
    this.socketPath = socketPath;
  }
}
