/**
 * The typed errors of the event log. Each is a {@linkcode VirtError} with a libvirt error number,
 * so the API reports them like any other failure; callers tell them apart with `instanceof`.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";
import { classifyWriteFailure, type WriteFailure } from "./write_failure.ts";

/**
 * An append's expected version did not match the stream's current version; nothing was appended.
 *
 * @example Telling a conflict apart
 * ```ts
 * import { VersionConflictError } from "./errors.ts";
 * const error = new VersionConflictError("domain/web", 3, 5);
 * console.log(error.code, error.actualVersion); // 9 5
 * ```
 */
export class VersionConflictError extends VirtError {
  /** The stream whose version did not match. */
  readonly stream: string;
  /** The version the caller expected (0 = must not exist, "any" never conflicts). */
  readonly expectedVersion: number;
  /** The stream's version when the append was tried. */
  readonly actualVersion: number;

  /**
   * @param stream The stream appended to.
   * @param expectedVersion The version the caller expected.
   * @param actualVersion The version the stream had.
   */
  constructor(stream: string, expectedVersion: number, actualVersion: number) {
    super(
      ErrorCode.OPERATION_FAILED,
      `version conflict on stream '${stream}': expected version ${expectedVersion}, found ${actualVersion}`,
      { where: "expectedVersion" },
    );
    this.name = "VersionConflictError";
    this.stream = stream;
    this.expectedVersion = expectedVersion;
    this.actualVersion = actualVersion;
  }
}

/**
 * A read asked for facts that retention has already removed.
 *
 * @example Restarting from a snapshot instead
 * ```ts
 * import { PositionPrunedError } from "./errors.ts";
 * const error = new PositionPrunedError("afterPosition", 10, 120);
 * console.log(error.code, error.oldestPosition); // 8 120
 * ```
 */
export class PositionPrunedError extends VirtError {
  /** The first position (or stream version) the caller needed. */
  readonly requested: number;
  /** The oldest position (or stream version) still retained. */
  readonly oldestPosition: number;

  /**
   * @param where The parameter at fault (`afterPosition`, `fromVersion`).
   * @param requested The first position or version the caller needed.
   * @param oldestPosition The oldest position or version still retained.
   */
  constructor(where: string, requested: number, oldestPosition: number) {
    super(
      ErrorCode.INVALID_ARG,
      `${
        where === "fromVersion" ? "version" : "position"
      } ${requested} was pruned from the event log: the oldest retained is ${oldestPosition}`,
      { where },
    );
    this.name = "PositionPrunedError";
    this.requested = requested;
    this.oldestPosition = oldestPosition;
  }
}

/**
 * Another process holds the state directory's lock: a second evirt service must not start on it.
 *
 * @example The message names the directory
 * ```ts
 * import { StateLockedError } from "./errors.ts";
 * console.log(new StateLockedError("/var/lib/evirt").message);
 * ```
 */
export class StateLockedError extends VirtError {
  /** The locked state directory. */
  readonly stateDir: string;
  /** The process id the holder wrote into the lock file, when readable; for the message only. */
  readonly holderPid: number | undefined;

  /**
   * @param stateDir The state directory whose lock is held.
   * @param holderPid The holder's process id, when known.
   */
  constructor(stateDir: string, holderPid?: number) {
    const holder = holderPid === undefined ? "" : ` (pid ${holderPid})`;
    super(
      ErrorCode.OPERATION_FAILED,
      `state directory '${stateDir}' is locked: another evirt service${holder} is using it`,
      { where: "EVIRT_STATE_DIR" },
    );
    this.name = "StateLockedError";
    this.stateDir = stateDir;
    this.holderPid = holderPid;
  }
}

/**
 * The store was closed; no call is accepted any more.
 *
 * @example
 * ```ts
 * import { StoreClosedError } from "./errors.ts";
 * console.log(new StoreClosedError().code); // 55
 * ```
 */
export class StoreClosedError extends VirtError {
  constructor() {
    super(ErrorCode.OPERATION_INVALID, "event log is closed");
    this.name = "StoreClosedError";
  }
}

/**
 * A call's argument is invalid (a bad stream name, a body that is not JSON, a limit out of range);
 * nothing was changed. `where` names the argument, e.g. `facts[2].body`.
 *
 * @example
 * ```ts
 * import { EventStoreArgumentError } from "./errors.ts";
 * const error = new EventStoreArgumentError("stream", "stream name must not be empty");
 * console.log(error.code, error.where); // 8 "stream"
 * ```
 */
export class EventStoreArgumentError extends VirtError {
  /**
   * @param where The argument at fault.
   * @param message What is wrong, in libvirt's lower-case wording.
   */
  constructor(where: string, message: string) {
    super(ErrorCode.INVALID_ARG, message, { where });
    this.name = "EventStoreArgumentError";
  }
}

/**
 * Too many appends are waiting for their commit; the caller should retry later.
 *
 * @example
 * ```ts
 * import { AppendQueueFullError } from "./errors.ts";
 * console.log(new AppendQueueFullError(4096).code); // 87
 * ```
 */
export class AppendQueueFullError extends VirtError {
  /** @param pendingMax The bound on waiting appends that was reached. */
  constructor(pendingMax: number) {
    super(
      ErrorCode.RESOURCE_BUSY,
      `event log is busy: ${pendingMax} appends are already waiting to be committed`,
    );
    this.name = "AppendQueueFullError";
  }
}

/**
 * Writing to the log failed (disk full, read-only file system, I/O error, a lock). The appends of
 * that commit were rolled back and not acknowledged; `failure` says why and whether a later write
 * may succeed. Only a log found damaged refuses further appends until a restart.
 *
 * @example
 * ```ts
 * import { EventStoreWriteError } from "./errors.ts";
 * const error = new EventStoreWriteError(new Error("database or disk is full"));
 * console.log(error.code, error.message);
 * // 38 "cannot write the event log: no space left on device (database or disk is full)"
 * ```
 */
export class EventStoreWriteError extends VirtError {
  /** The cause, classified. */
  readonly failure: WriteFailure;

  /** @param cause The storage's error. */
  constructor(cause: unknown) {
    const failure = classifyWriteFailure(cause);
    const detail = failure.detail === failure.description ? "" : ` (${failure.detail})`;
    const refusal = failure.retryable
      ? ""
      : "; further writes are refused until the service is restarted";
    super(
      ErrorCode.SYSTEM_ERROR,
      `cannot write the event log: ${failure.description}${detail}${refusal}`,
      { cause },
    );
    this.name = "EventStoreWriteError";
    this.failure = failure;
  }
}

/**
 * The stored log is not what this version of evirt can read: an unknown file format, a record that
 * fails its read-back checks, or an upcaster that failed. Never caused by a caller's input.
 *
 * @example
 * ```ts
 * import { EventStoreCorruptError } from "./errors.ts";
 * console.log(new EventStoreCorruptError("fact 3 has no stream").code); // 1
 * ```
 */
export class EventStoreCorruptError extends VirtError {
  /**
   * @param message What is wrong with the stored data.
   * @param cause The underlying error, if any.
   */
  constructor(message: string, cause?: unknown) {
    super(ErrorCode.INTERNAL_ERROR, `event log: ${message}`, { cause });
    this.name = "EventStoreCorruptError";
  }
}

/**
 * A stored fact or snapshot does not match its checksum: its bytes were changed after it was
 * written (a disk error, or an edit outside evirt). Nothing read from it is passed on.
 *
 * @example
 * ```ts
 * import { ChecksumMismatchError } from "./errors.ts";
 * const error = new ChecksumMismatchError("fact", 17, 0x1234, 0x5678);
 * console.log(error.position, error.message.includes("fact 17")); // 17 true
 * ```
 */
export class ChecksumMismatchError extends EventStoreCorruptError {
  /** What failed: a fact or a snapshot. */
  readonly record: "fact" | "snapshot";
  /** The fact's position, or the position the snapshot covers. */
  readonly position: number;

  /**
   * @param record What failed: a fact or a snapshot.
   * @param position The fact's position, or the position the snapshot covers.
   * @param stored The checksum stored with it.
   * @param computed The checksum of its bytes as read.
   */
  constructor(record: "fact" | "snapshot", position: number, stored: number, computed: number) {
    super(
      `${record === "fact" ? "fact" : "snapshot at position"} ${position} fails its checksum ` +
        `(stored ${hex(stored)}, computed ${
          hex(computed)
        }): its bytes changed after it was written`,
    );
    this.name = "ChecksumMismatchError";
    this.record = record;
    this.position = position;
  }
}

/**
 * A stored fact has a type this evirt does not know and no upcaster handles: it was written by a
 * newer evirt, or by hand. Skipping it would fold a state that never was, so it is refused.
 *
 * @example
 * ```ts
 * import { UnknownFactTypeError } from "./errors.ts";
 * console.log(new UnknownFactTypeError(9, "domain.teleported").message);
 * ```
 */
export class UnknownFactTypeError extends EventStoreCorruptError {
  /** The fact's position. */
  readonly position: number;
  /** The unknown type. */
  readonly factType: string;

  /**
   * @param position The fact's position.
   * @param factType The unknown type.
   */
  constructor(position: number, factType: string) {
    super(
      `fact ${position} has the unknown type '${factType}' and no upcaster handles it ` +
        "(written by a newer evirt, or edited by hand)",
    );
    this.name = "UnknownFactTypeError";
    this.position = position;
    this.factType = factType;
  }
}

/**
 * The service refuses to open the event log: the log is damaged, or it is not the log this state
 * directory used (empty, behind, or replaced while domains or their runtime records exist).
 * Starting anyway would lose definitions or leave running guests unmanaged, so nothing starts;
 * the message says why and `recovery` says what an operator can do.
 *
 * @example
 * ```ts
 * import { EventLogRefusedError } from "./errors.ts";
 * const error = new EventLogRefusedError("the log is empty", ["restore it with `evirt log import FILE`"]);
 * console.log(error.recovery.length); // 1
 * ```
 */
export class EventLogRefusedError extends VirtError {
  /** What is wrong, without the recovery steps. */
  readonly reason: string;
  /** What an operator can do, one step per entry, in order of preference. */
  readonly recovery: readonly string[];

  /**
   * @param reason What is wrong.
   * @param recovery The recovery steps.
   */
  constructor(reason: string, recovery: readonly string[]) {
    super(
      ErrorCode.OPERATION_FAILED,
      `refusing to open the event log: ${reason}; to recover: ${
        recovery.map((step, index) => `(${index + 1}) ${step}`).join("; ")
      }`,
      { where: "EVIRT_STATE_DIR" },
    );
    this.name = "EventLogRefusedError";
    this.reason = reason;
    this.recovery = recovery;
  }
}

function hex(value: number): string {
  return `0x${(value >>> 0).toString(16).padStart(8, "0")}`;
}
