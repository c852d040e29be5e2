/**
 * The SQLite event log's on-disk format: its tables, how a new file is set up, and the upgrade of
 * a file written by an older evirt.
 *
 * Format 1 had no checksums and no log id. Format 2 adds a CRC-32 to every fact and snapshot
 * (see `fact_checksum.ts`) and a `meta` table holding the log's id. A format-1 file is upgraded
 * when a read-write store opens it: in one transaction the checksums are computed from the rows
 * as they are, a log id is made, and the format number is raised, so a crash during the upgrade
 * leaves the old file as it was.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import { ErrorCode, VirtError } from "../model/errors.ts";
import { EventStoreCorruptError } from "./errors.ts";
import { factChecksum, snapshotChecksum } from "./fact_checksum.ts";

/** The on-disk format this code writes; a newer file is refused rather than misread. */
export const DATABASE_FORMAT_VERSION = 2;

/** The oldest format this code reads (and upgrades when opened for writing). */
export const DATABASE_FORMAT_OLDEST = 1;

/** SQLite's `application_id` marking an evirt event log ("evlg"). */
export const DATABASE_APPLICATION_ID = 0x65766c67;

/** How long SQLite waits for a lock held by an outside reader (the sqlite3 shell), in ms. */
export const DATABASE_BUSY_TIMEOUT_MS = 5000;

/** WAL size kept after a checkpoint, in bytes, so one burst does not hold disk space forever. */
export const WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;

/** Rows the format-1 upgrade reads and rewrites at a time, bounding its memory. */
const UPGRADE_PAGE_ROWS = 1000;

const SCHEMA = `
  CREATE TABLE facts (
    position INTEGER PRIMARY KEY,
    stream TEXT NOT NULL,
    version INTEGER NOT NULL,
    type TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    timestamp_ms INTEGER NOT NULL,
    body TEXT NOT NULL,
    body_offset INTEGER NOT NULL,
    checksum INTEGER NOT NULL,
    UNIQUE (stream, version)
  ) STRICT;
  CREATE INDEX facts_by_body_offset ON facts (body_offset);
  CREATE TABLE streams (name TEXT PRIMARY KEY, version INTEGER NOT NULL) STRICT, WITHOUT ROWID;
  CREATE TABLE snapshots (
    id INTEGER PRIMARY KEY,
    position INTEGER NOT NULL,
    timestamp_ms INTEGER NOT NULL,
    state TEXT NOT NULL,
    checksum INTEGER NOT NULL
  ) STRICT;
  CREATE TABLE retention (id INTEGER PRIMARY KEY CHECK (id = 1), oldest_position INTEGER NOT NULL)
    STRICT;
  INSERT INTO retention (id, oldest_position) VALUES (1, 1);
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT, WITHOUT ROWID;
`;

/** What {@linkcode prepareSchema} found and left. */
export interface SchemaState {
  /** The format the file had when opened (0 = it was empty and was set up now). */
  formatFound: number;
  /** The format the connection now reads: 2, or 1 for a read-only look at an old file. */
  format: number;
  /** The log's id; undefined for a format-1 file opened read-only. */
  logId: string | undefined;
}

/**
 * Sets the durability pragmas (read-write only), then creates, checks or upgrades the schema.
 *
 * @param db The open connection.
 * @param path The file's path, for messages.
 * @param readOnly Only look: an empty file is refused, a format-1 file is read as it is.
 * @returns The format found and the log id.
 * @throws {EventStoreCorruptError} When the file is not an evirt log this version can read.
 * @throws {VirtError} With code SYSTEM_ERROR when WAL mode cannot be set.
 *
 * @example
 * ```ts
 * import { DatabaseSync } from "node:sqlite";
 * import { prepareSchema } from "./sqlite_schema.ts";
 * const db = new DatabaseSync(":memory:");
 * console.log(prepareSchema(db, ":memory:", false, true).format); // 2
 * ```
 */
export function prepareSchema(
  db: DatabaseSync,
  path: string,
  readOnly: boolean,
  inMemory = false,
): SchemaState {
  if (readOnly) db.exec(`PRAGMA busy_timeout = ${DATABASE_BUSY_TIMEOUT_MS}`);
  else setPragmas(db, path, inMemory);
  const applicationId = pragmaNumber(db, "application_id");
  const format = pragmaNumber(db, "user_version");
  const tables = (db.prepare("SELECT count(*) AS n FROM sqlite_schema").get() as { n: number }).n;
  if (applicationId === 0 && format === 0 && tables === 0) {
    if (readOnly) throw new EventStoreCorruptError(`'${path}' is empty: it holds no evirt log`);
    const logId = crypto.randomUUID();
    inTransaction(db, () => {
      db.exec(SCHEMA);
      db.prepare("INSERT INTO meta (key, value) VALUES ('log_id', ?)").run(logId);
      db.exec(`PRAGMA application_id = ${DATABASE_APPLICATION_ID}`);
      db.exec(`PRAGMA user_version = ${DATABASE_FORMAT_VERSION}`);
    });
    return { formatFound: 0, format: DATABASE_FORMAT_VERSION, logId };
  }
  if (applicationId !== DATABASE_APPLICATION_ID) {
    throw new EventStoreCorruptError(`'${path}' is not an evirt event log`);
  }
  if (format < DATABASE_FORMAT_OLDEST || format > DATABASE_FORMAT_VERSION) {
    throw new EventStoreCorruptError(
      `'${path}' has format ${format}; this evirt reads formats ${DATABASE_FORMAT_OLDEST} to ${DATABASE_FORMAT_VERSION}`,
    );
  }
  if (format === 1 && readOnly) return { formatFound: 1, format: 1, logId: undefined };
  if (format === 1) {
    const logId = crypto.randomUUID();
    inTransaction(db, () => upgradeFromFormat1(db, logId));
    return { formatFound: 1, format: DATABASE_FORMAT_VERSION, logId };
  }
  const row = db.prepare("SELECT value FROM meta WHERE key = 'log_id'").get() as
    | { value: string }
    | undefined;
  if (row === undefined) throw new EventStoreCorruptError(`'${path}' has no log id`);
  return { formatFound: format, format, logId: row.value };
}

/** Adds the checksum columns (filled from the rows as they are) and the log id. */
function upgradeFromFormat1(db: DatabaseSync, logId: string): void {
  db.exec("ALTER TABLE facts ADD COLUMN checksum INTEGER NOT NULL DEFAULT 0");
  db.exec("ALTER TABLE snapshots ADD COLUMN checksum INTEGER NOT NULL DEFAULT 0");
  db.exec("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT, WITHOUT ROWID");
  db.prepare("INSERT INTO meta (key, value) VALUES ('log_id', ?)").run(logId);
  const page = db.prepare(
    "SELECT position, stream, version, type, schema_version, timestamp_ms, body FROM facts " +
      "WHERE position > ? ORDER BY position LIMIT ?",
  );
  const setFact = db.prepare("UPDATE facts SET checksum = ? WHERE position = ?");
  let after = 0;
  for (;;) {
    const rows = page.all(after, UPGRADE_PAGE_ROWS) as {
      position: number;
      stream: string;
      version: number;
      type: string;
      schema_version: number;
      timestamp_ms: number;
      body: string;
    }[];
    if (rows.length === 0) break;
    for (const row of rows) {
      const checksum = factChecksum({
        position: row.position,
        stream: row.stream,
        version: row.version,
        type: row.type,
        schemaVersion: row.schema_version,
        timestampMs: row.timestamp_ms,
        bodyJson: row.body,
      });
      setFact.run(checksum, row.position);
      after = row.position;
    }
  }
  // At most a few snapshots are kept, so they are read in one go.
  const snapshots = db.prepare("SELECT id, position, timestamp_ms, state FROM snapshots").all() as {
    id: number;
    position: number;
    timestamp_ms: number;
    state: string;
  }[];
  const setSnapshot = db.prepare("UPDATE snapshots SET checksum = ? WHERE id = ?");
  for (const row of snapshots) {
    const checksum = snapshotChecksum({
      position: row.position,
      timestampMs: row.timestamp_ms,
      stateJson: row.state,
    });
    setSnapshot.run(checksum, row.id);
  }
  db.exec(`PRAGMA user_version = ${DATABASE_FORMAT_VERSION}`);
}

/**
 * Sets the pragmas every writing connection runs with: WAL, `synchronous=FULL`, the busy timeout
 * and the WAL size limit (the commit thread's connection too, see sqlite_commit_thread.ts).
 *
 * @throws {VirtError} Code 38 when the file cannot be put in WAL mode.
 */
export function setPragmas(db: DatabaseSync, path: string, inMemory: boolean): void {
  const journal = db.prepare("PRAGMA journal_mode = WAL").get() as { journal_mode: string };
  if (journal.journal_mode !== "wal" && !inMemory) {
    throw new VirtError(
      ErrorCode.SYSTEM_ERROR,
      `cannot put event log '${path}' in WAL mode (got '${journal.journal_mode}')`,
    );
  }
  // FULL syncs the WAL at every commit: an acknowledged append survives power loss.
  db.exec("PRAGMA synchronous = FULL");
  db.exec(`PRAGMA busy_timeout = ${DATABASE_BUSY_TIMEOUT_MS}`);
  db.exec(`PRAGMA journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
}

function inTransaction(db: DatabaseSync, body: () => void): void {
  db.exec("BEGIN IMMEDIATE");
  try {
    body();
    db.exec("COMMIT");
  } catch (error) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw error;
  }
}

function pragmaNumber(db: DatabaseSync, name: string): number {
  const row = db.prepare(`PRAGMA ${name}`).get() as Record<string, number>;
  return row[name];
}
