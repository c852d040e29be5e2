/**
 * The embedded default {@linkcode EventStore}: one SQLite file (through `node:sqlite`) in the
 * state directory, in WAL mode with `synchronous=FULL`, so a commit is on disk before any append
 * of it is acknowledged, and a crash at any moment leaves only whole transactions.
 *
 * @module
 */

import { DatabaseSync, type StatementSync } from "node:sqlite";
import { ErrorCode, VirtError } from "../model/errors.ts";
import { EventStoreCorruptError } from "./errors.ts";
import type { EventStore, EventStoreOptions } from "./event_store.ts";
import type { FactStorage, StorageHead, StoredFact, StoredSnapshot } from "./fact_storage.ts";
import { LogStore } from "./log_store.ts";
import { acquireStateLock } from "./state_lock.ts";

/** The database file's name inside the state directory. */
export const DATABASE_FILE = "events.sqlite";

/** The on-disk format this code writes; a newer file is refused rather than misread. */
export const DATABASE_FORMAT_VERSION = 1;

/** SQLite's `application_id` marking an evirt event log ("evlg"). */
export const DATABASE_APPLICATION_ID = 0x65766c67;

/** How long SQLite waits for a lock held by an outside reader (the sqlite3 shell), in ms. */
export const DATABASE_BUSY_TIMEOUT_MS = 5000;

/** WAL size kept after a checkpoint, in bytes, so one burst does not hold disk space forever. */
export const WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;

/** The SQLite settings the store runs with, as read back from its connection. */
export interface SqliteSettings {
  /** `PRAGMA journal_mode`: "wal". */
  journalMode: string;
  /** `PRAGMA synchronous`: 2 (FULL). */
  synchronous: number;
}

/** An {@linkcode EventStore} on a SQLite file. */
export interface SqliteEventStore extends EventStore {
  /** The database file's path. */
  readonly databasePath: string;
  /** The journal mode and synchronous level read back from the open connection. */
  settings(): SqliteSettings;
}

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
    UNIQUE (stream, version)
  ) STRICT;
  CREATE INDEX facts_by_body_offset ON facts (body_offset);
  CREATE TABLE streams (name TEXT PRIMARY KEY, version INTEGER NOT NULL) STRICT, WITHOUT ROWID;
  CREATE TABLE snapshots (
    id INTEGER PRIMARY KEY,
    position INTEGER NOT NULL,
    timestamp_ms INTEGER NOT NULL,
    state TEXT NOT NULL
  ) STRICT;
  CREATE TABLE retention (id INTEGER PRIMARY KEY CHECK (id = 1), oldest_position INTEGER NOT NULL)
    STRICT;
  INSERT INTO retention (id, oldest_position) VALUES (1, 1);
`;

const FACT_COLUMNS = "position, stream, version, type, schema_version, timestamp_ms, body";

/*
 * `body_offset` is the total length (in UTF-16 code units, as JavaScript counts) of the bodies of
 * all facts before this one. It grows with position, so "the last fact starting within N units of
 * here" is one index seek, and readAll() fetches a page bounded by body size with one plain range
 * query instead of stepping row by row.
 */

/**
 * Opens (creating when needed) the event log in `stateDir`. The directory's lock is taken before
 * anything else, so a second service on the same directory fails here and touches nothing.
 *
 * @param stateDir The state directory (`EVIRT_STATE_DIR`), absolute; created with mode 0700.
 * @param options Upcasters, retention and clock.
 * @returns The open store; `close()` releases the file and the lock.
 * @throws {StateLockedError} When another process holds the state directory.
 * @throws {EventStoreCorruptError} When the file is not an evirt log this version can read.
 * @throws {VirtError} With code SYSTEM_ERROR when the directory or file cannot be opened.
 *
 * @example Opening, appending, closing
 * ```ts
 * import { openSqliteStore } from "./sqlite_store.ts";
 * const dir = Deno.makeTempDirSync();
 * const store = await openSqliteStore(dir);
 * await store.append("domain/web", [{ type: "DomainDefined", body: {} }], 0);
 * await store.close();
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export function openSqliteStore(
  stateDir: string,
  options: EventStoreOptions = {},
): Promise<SqliteEventStore> {
  try {
    const lock = acquireStateLock(stateDir);
    const databasePath = `${stateDir.replace(/\/+$/, "")}/${DATABASE_FILE}`;
    let storage: SqliteStorage | undefined;
    try {
      storage = new SqliteStorage(databasePath);
      const opened = storage;
      const store = new LogStore(opened, options, () => lock.release());
      return Promise.resolve(Object.assign(store, {
        databasePath,
        settings: () => opened.settings(),
      }));
    } catch (error) {
      storage?.close();
      lock.release();
      throw error;
    }
  } catch (error) {
    return Promise.reject(error);
  }
}

/** {@linkcode FactStorage} on one SQLite connection with prepared statements. */
class SqliteStorage implements FactStorage {
  readonly #db: DatabaseSync;
  readonly #statements: ReturnType<typeof prepareStatements>;
  #nextBodyOffset = 0;

  constructor(path: string) {
    try {
      this.#db = new DatabaseSync(path, { enableForeignKeyConstraints: false });
    } catch (error) {
      throw new VirtError(
        ErrorCode.SYSTEM_ERROR,
        `cannot open event log '${path}': ${(error as Error).message}`,
        { where: "EVIRT_STATE_DIR", cause: error },
      );
    }
    try {
      configure(this.#db, path);
      this.#statements = prepareStatements(this.#db);
      const last = this.#statements.lastBody.get() as unknown as [number, string] | undefined;
      this.#nextBodyOffset = last === undefined ? 0 : last[0] + last[1].length;
    } catch (error) {
      this.#db.close();
      if (error instanceof VirtError) throw error;
      // SQLite's own words ("file is not a database") say best what is wrong.
      throw new VirtError(
        ErrorCode.SYSTEM_ERROR,
        `cannot open event log '${path}': ${(error as Error).message}`,
        { where: "EVIRT_STATE_DIR", cause: error },
      );
    }
  }

  settings(): SqliteSettings {
    const journal = this.#db.prepare("PRAGMA journal_mode").get() as { journal_mode: string };
    const synchronous = this.#db.prepare("PRAGMA synchronous").get() as { synchronous: number };
    return { journalMode: journal.journal_mode, synchronous: synchronous.synchronous };
  }

  head(): StorageHead {
    const last = this.#statements.last.get() as unknown as [number, number] | undefined;
    const oldest = (this.#statements.oldest.get() as unknown as [number])[0];
    return {
      headPosition: last === undefined ? oldest - 1 : last[0],
      oldestPosition: oldest,
      lastTimestampMs: last === undefined ? 0 : last[1],
    };
  }

  streamVersion(stream: string): number {
    const row = this.#statements.streamVersion.get(stream) as unknown as [number] | undefined;
    return row === undefined ? 0 : row[0];
  }

  commit(facts: readonly StoredFact[], streamVersions: ReadonlyMap<string, number>): void {
    const { insertFact, upsertStream } = this.#statements;
    let bodyOffset = this.#nextBodyOffset;
    this.#transaction(() => {
      for (const fact of facts) {
        insertFact.run(
          fact.position,
          fact.stream,
          fact.version,
          fact.type,
          fact.schemaVersion,
          fact.timestampMs,
          fact.bodyJson,
          bodyOffset,
        );
        bodyOffset += fact.bodyJson.length;
      }
      for (const [stream, version] of streamVersions) upsertStream.run(stream, version);
    });
    this.#nextBodyOffset = bodyOffset;
  }

  readAll(afterPosition: number, limit: number, maxBytes: number): StoredFact[] {
    const first = this.#statements.firstBodyOffset.get(afterPosition) as unknown as
      | [number]
      | undefined;
    if (first === undefined) return [];
    const last = this.#statements.lastStartingBefore.get(first[0] + maxBytes) as unknown as [
      number,
    ];
    const rows = this.#statements.readRange.all(afterPosition, last[0], limit) as unknown as Row[];
    return rows.map(toStoredFact);
  }

  readStream(stream: string, fromVersion: number, limit: number, maxBytes: number): StoredFact[] {
    return collect(this.#statements.readStream.iterate(stream, fromVersion, limit), maxBytes);
  }

  firstPositionAtOrAfter(timestampMs: number): number | undefined {
    const row = this.#statements.firstAtOrAfter.get(timestampMs) as unknown as [number] | undefined;
    return row?.[0];
  }

  removeThrough(position: number): number {
    let removed = 0;
    this.#transaction(() => {
      removed = Number(this.#statements.removeThrough.run(position).changes);
      this.#statements.setOldest.run(position + 1);
    });
    return removed;
  }

  saveSnapshot(snapshot: StoredSnapshot, keepMax: number): void {
    this.#transaction(() => {
      this.#statements.insertSnapshot.run(
        snapshot.position,
        snapshot.timestampMs,
        snapshot.stateJson,
      );
      this.#statements.trimSnapshots.run(keepMax);
    });
  }

  loadSnapshot(): StoredSnapshot | undefined {
    const row = this.#statements.loadSnapshot.get() as unknown as
      | [number, number, string]
      | undefined;
    if (row === undefined) return undefined;
    return { position: row[0], timestampMs: row[1], stateJson: row[2] };
  }

  latestSnapshotPosition(): number | undefined {
    const row = this.#statements.latestSnapshotPosition.get() as unknown as [number] | undefined;
    return row?.[0];
  }

  deleteSnapshots(): void {
    this.#transaction(() => this.#statements.deleteSnapshots.run());
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }

  #transaction(body: () => void): void {
    // A rollback that failed last time (an I/O error) leaves a transaction open; BEGIN would
    // then fail with a message about nesting that hides the real cause, on every later write.
    if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      body();
      this.#db.exec("COMMIT");
    } catch (error) {
      try {
        if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      } catch {
        // The write's own error names the cause; the next transaction retries the rollback.
      }
      throw error;
    }
  }
}

/** Sets the durability pragmas, then creates or checks the schema. */
function configure(db: DatabaseSync, path: string): void {
  const journal = db.prepare("PRAGMA journal_mode = WAL").get() as { journal_mode: string };
  if (journal.journal_mode !== "wal") {
    throw new VirtError(
      ErrorCode.SYSTEM_ERROR,
      `cannot put event log '${path}' in WAL mode (got '${journal.journal_mode}')`,
    );
  }
  // FULL syncs the WAL at every commit: an acknowledged append survives power loss.
  db.exec("PRAGMA synchronous = FULL");
  db.exec(`PRAGMA busy_timeout = ${DATABASE_BUSY_TIMEOUT_MS}`);
  db.exec(`PRAGMA journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
  const applicationId = pragmaNumber(db, "application_id");
  const format = pragmaNumber(db, "user_version");
  const tables = (db.prepare("SELECT count(*) AS n FROM sqlite_schema").get() as { n: number }).n;
  if (applicationId === 0 && format === 0 && tables === 0) {
    db.exec("BEGIN IMMEDIATE");
    try {
      db.exec(SCHEMA);
      db.exec(`PRAGMA application_id = ${DATABASE_APPLICATION_ID}`);
      db.exec(`PRAGMA user_version = ${DATABASE_FORMAT_VERSION}`);
      db.exec("COMMIT");
    } catch (error) {
      if (db.isTransaction) db.exec("ROLLBACK");
      throw error;
    }
  } else if (applicationId !== DATABASE_APPLICATION_ID) {
    throw new EventStoreCorruptError(`'${path}' is not an evirt event log`);
  } else if (format !== DATABASE_FORMAT_VERSION) {
    throw new EventStoreCorruptError(
      `'${path}' has format ${format}; this evirt reads format ${DATABASE_FORMAT_VERSION}`,
    );
  }
}

function pragmaNumber(db: DatabaseSync, name: string): number {
  const row = db.prepare(`PRAGMA ${name}`).get() as Record<string, number>;
  return row[name];
}

function prepareStatements(db: DatabaseSync) {
  const prepare = (sql: string): StatementSync => {
    // node:sqlite has setReturnArrays; the bundled type declarations lag behind it.
    const statement = db.prepare(sql) as StatementSync & { setReturnArrays(on: boolean): void };
    // Arrays skip building a keyed object per row, which matters when recovery reads millions.
    statement.setReturnArrays(true);
    return statement;
  };
  return {
    last: prepare("SELECT position, timestamp_ms FROM facts ORDER BY position DESC LIMIT 1"),
    oldest: prepare("SELECT oldest_position FROM retention WHERE id = 1"),
    streamVersion: prepare("SELECT version FROM streams WHERE name = ?"),
    lastBody: prepare("SELECT body_offset, body FROM facts ORDER BY position DESC LIMIT 1"),
    insertFact: prepare(
      `INSERT INTO facts (${FACT_COLUMNS}, body_offset) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    upsertStream: prepare(
      "INSERT INTO streams (name, version) VALUES (?, ?) " +
        "ON CONFLICT (name) DO UPDATE SET version = excluded.version",
    ),
    firstBodyOffset: prepare(
      "SELECT body_offset FROM facts WHERE position > ? ORDER BY position LIMIT 1",
    ),
    lastStartingBefore: prepare(
      "SELECT position FROM facts WHERE body_offset < ? ORDER BY body_offset DESC LIMIT 1",
    ),
    readRange: prepare(
      `SELECT ${FACT_COLUMNS} FROM facts WHERE position > ? AND position <= ? ` +
        "ORDER BY position LIMIT ?",
    ),
    readStream: prepare(
      `SELECT ${FACT_COLUMNS} FROM facts WHERE stream = ? AND version >= ? ORDER BY version LIMIT ?`,
    ),
    firstAtOrAfter: prepare(
      "SELECT position FROM facts WHERE timestamp_ms >= ? ORDER BY position LIMIT 1",
    ),
    removeThrough: prepare("DELETE FROM facts WHERE position <= ?"),
    setOldest: prepare("UPDATE retention SET oldest_position = ? WHERE id = 1"),
    insertSnapshot: prepare(
      "INSERT INTO snapshots (position, timestamp_ms, state) VALUES (?, ?, ?)",
    ),
    trimSnapshots: prepare(
      "DELETE FROM snapshots WHERE id NOT IN " +
        "(SELECT id FROM snapshots ORDER BY position DESC, id DESC LIMIT ?)",
    ),
    loadSnapshot: prepare(
      "SELECT position, timestamp_ms, state FROM snapshots ORDER BY position DESC, id DESC LIMIT 1",
    ),
    latestSnapshotPosition: prepare(
      "SELECT position FROM snapshots ORDER BY position DESC, id DESC LIMIT 1",
    ),
    deleteSnapshots: prepare("DELETE FROM snapshots"),
  };
}

type Row = [number, string, number, string, number, number, string];

function toStoredFact(row: Row): StoredFact {
  return {
    position: row[0],
    stream: row[1],
    version: row[2],
    type: row[3],
    schemaVersion: row[4],
    timestampMs: row[5],
    bodyJson: row[6],
  };
}

/** Steps row by row, stopping once the bodies reach `maxBytes`; for stream reads, which are small. */
function collect(rows: Iterable<unknown>, maxBytes: number): StoredFact[] {
  const facts: StoredFact[] = [];
  let bytes = 0;
  for (const row of rows as Iterable<Row>) {
    facts.push(toStoredFact(row));
    bytes += row[6].length;
    if (bytes >= maxBytes) break;
  }
  return facts;
}
