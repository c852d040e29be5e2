/**
 * Writing one commit of facts to the SQLite log: the fact rows and the streams' new versions in
 * one `BEGIN IMMEDIATE` transaction. Shared by the store's own connection and the commit thread's
 * (sqlite_commit_thread.ts), so both write the same rows the same way.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import type { AppendedFact } from "./fact_storage.ts";
import { jsonTextChars, withJsonTextUtf8 } from "./json_pieces.ts";

/**
 * The insert of one fact row (format 2), with the body's offset (see sqlite_store.ts). The body
 * is bound as text or as its UTF-8 bytes (json_pieces.ts), stored as text either way.
 */
export const INSERT_FACT_SQL = "INSERT INTO facts (position, stream, version, type, " +
  "schema_version, timestamp_ms, body, checksum, body_offset) " +
  "VALUES (?, ?, ?, ?, ?, ?, CAST(? AS TEXT), ?, ?)";

/** The upsert of one stream's version. */
export const UPSERT_STREAM_SQL = "INSERT INTO streams (name, version) VALUES (?, ?) " +
  "ON CONFLICT (name) DO UPDATE SET version = excluded.version";

/** A statement as the commit runs it. */
export interface RunStatement {
  run(...values: (string | number | Uint8Array)[]): unknown;
}

/** The statements a commit runs. */
export interface CommitStatements {
  insertFact: RunStatement;
  upsertStream: RunStatement;
}

/**
 * Runs `body` in one `BEGIN IMMEDIATE` transaction: all of it is committed, or (when `body` or
 * the commit throws) none of it, and the error is thrown.
 *
 * @example
 * ```ts
 * import { DatabaseSync } from "node:sqlite";
 * import { inWriteTransaction } from "./sqlite_commit.ts";
 * const db = new DatabaseSync(":memory:");
 * inWriteTransaction(db, () => db.exec("CREATE TABLE t (x INTEGER)"));
 * db.close();
 * ```
 */
export function inWriteTransaction(db: DatabaseSync, body: () => void): void {
  // A rollback that failed last time (an I/O error) leaves a transaction open; BEGIN would
  // then fail with a message about nesting that hides the real cause, on every later write.
  if (db.isTransaction) db.exec("ROLLBACK");
  db.exec("BEGIN IMMEDIATE");
  try {
    body();
    db.exec("COMMIT");
  } catch (error) {
    try {
      if (db.isTransaction) db.exec("ROLLBACK");
    } catch {
      // The write's own error names the cause; the next transaction retries the rollback.
    }
    throw error;
  }
}

/**
 * Inserts one fact row whose body starts at `bodyOffset`; returns where the next one starts
 * (offsets count UTF-16 code units, as sqlite_store.ts reads them).
 */
export function insertFactRow(
  statements: CommitStatements,
  fact: AppendedFact,
  bodyOffset: number,
): number {
  withJsonTextUtf8(fact.bodyJson, (body) =>
    statements.insertFact.run(
      fact.position,
      fact.stream,
      fact.version,
      fact.type,
      fact.schemaVersion,
      fact.timestampMs,
      body,
      fact.checksum,
      bodyOffset,
    ));
  return bodyOffset + jsonTextChars(fact.bodyJson);
}

/**
 * Writes `facts` and the streams' versions in one transaction, durable when it returns.
 *
 * @param bodyOffset Where the first fact's body starts.
 * @returns Where the body of the fact after the last one starts.
 * @throws SQLite's error (the transaction is rolled back).
 */
export function commitFacts(
  db: DatabaseSync,
  statements: CommitStatements,
  facts: readonly AppendedFact[],
  streamVersions: Iterable<readonly [string, number]>,
  bodyOffset: number,
): number {
  let next = bodyOffset;
  inWriteTransaction(db, () => {
    for (const fact of facts) next = insertFactRow(statements, fact, next);
    for (const [stream, version] of streamVersions) statements.upsertStream.run(stream, version);
  });
  return next;
}
