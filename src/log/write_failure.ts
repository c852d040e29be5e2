/**
 * What a failed write to the log means: the cause in plain words (a full disk, a read-only file
 * system, an I/O error, a lock, damage) and whether trying again later may succeed.
 *
 * SQLite (through `node:sqlite` under Deno) reports only its result code's text, e.g. "database
 * or disk is full", with no numeric code, so the text is what is classified. A write that fails
 * for a passing reason is rolled back whole, and the store keeps accepting appends; only a log
 * found damaged refuses further writes, since writing on would bury the damage.
 *
 * @module
 */

/** The kind of cause of a failed write. */
export type WriteFailureKind =
  | "disk_full"
  | "read_only"
  | "io_error"
  | "locked"
  | "damaged"
  | "superseded"
  | "unknown_outcome"
  | "other";

/** A failed write, classified. */
export interface WriteFailure {
  /** The kind of cause. */
  kind: WriteFailureKind;
  /** The cause in words, e.g. `no space left on device`. */
  description: string;
  /**
   * Whether a later write may succeed without a restart (every kind but `damaged`, `superseded`
   * and `unknown_outcome`).
   */
  retryable: boolean;
  /** The storage's own message, e.g. SQLite's `database or disk is full`. */
  detail: string;
}

/** Patterns of each kind, matched against the storage's message in lower case; first match wins. */
const PATTERNS: readonly [WriteFailureKind, string, RegExp][] = [
  // A commit thread that failed or did not answer (sqlite_commit_thread.ts): the log may hold
  // the commit or not, so only a restart, which reads the log again, knows.
  ["unknown_outcome", "the outcome of a write is unknown", /outcome of the commit is unknown/],
  ["damaged", "the log file is damaged", /malformed|not a database|corrupt/],
  // A remote log another writer appended to, or whose last write has an unknown outcome.
  ["superseded", "another writer holds the log", /superseded/],
  ["disk_full", "no space left on device", /disk is full|no space left|enospc|quota/],
  ["read_only", "the file system is read-only", /readonly|read-only|erofs/],
  ["io_error", "an I/O error on the log file", /i\/o error|eio\b|ioerr/],
  ["locked", "the log file is locked by another process", /database is locked|table is locked/],
];

/**
 * Classifies a storage error thrown by a write.
 *
 * @param error What the storage threw.
 * @returns The kind, the cause in words, and whether retrying may succeed.
 *
 * @example A full disk under SQLite
 * ```ts
 * import { classifyWriteFailure } from "./write_failure.ts";
 * const failure = classifyWriteFailure(new Error("database or disk is full"));
 * console.log(failure.kind, failure.retryable); // "disk_full" true
 * ```
 */
export function classifyWriteFailure(error: unknown): WriteFailure {
  const detail = error instanceof Error ? error.message : String(error);
  const text = detail.toLowerCase();
  for (const [kind, description, pattern] of PATTERNS) {
    if (pattern.test(text)) {
      const retryable = kind !== "damaged" && kind !== "superseded" && kind !== "unknown_outcome";
      return { kind, description, retryable, detail };
    }
  }
  return { kind: "other", description: detail, retryable: true, detail };
}
