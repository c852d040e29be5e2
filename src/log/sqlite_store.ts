/**
 * The embedded default {@linkcode EventStore}: one SQLite file (through `node:sqlite`) in the
 * state directory, in WAL mode with `synchronous=FULL`, so a commit is on disk before any append
 * of it is acknowledged, and a crash at any moment leaves only whole transactions.
 *
 * Longer than 400 lines: the storage class and its prepared statements belong together; the
 * schema and its upgrades live in `sqlite_schema.ts`, the start-up checks in `open_checks.ts`.
 *
 * @module
 */

import { DatabaseSync, type StatementSync } from "node:sqlite";
import { ErrorCode, VirtError } from "../model/errors.ts";
import type { EventStore, EventStoreOptions } from "./event_store.ts";
import { factChecksum, snapshotChecksum as snapshotChecksumOf } from "./fact_checksum.ts";
import type {
  AppendedFact,
  FactStorage,
  StorageHead,
  StoredFact,
  StoredSnapshot,
} from "./fact_storage.ts";
import type { LogMarkerWriter } from "./log_marker.ts";
import { LogStore } from "./log_store.ts";
import { openCheckedStorage } from "./open_checks.ts";
import { prepareSchema, type SchemaState } from "./sqlite_schema.ts";
import {
  commitFacts,
  INSERT_FACT_SQL,
  insertFactRow,
  inWriteTransaction,
  UPSERT_STREAM_SQL,
} from "./sqlite_commit.ts";
import { SqliteCommitThread } from "./sqlite_commit_thread.ts";
import { acquireStateLock } from "./state_lock.ts";

export {
  DATABASE_APPLICATION_ID,
  DATABASE_BUSY_TIMEOUT_MS,
  DATABASE_FORMAT_VERSION,
  WAL_SIZE_LIMIT_BYTES,
} from "./sqlite_schema.ts";

/** The database file's name inside the state directory. */
export const DATABASE_FILE = "events.sqlite";

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

/** Options of {@linkcode openSqliteStore}: the store's options and what start-up knows. */
export interface SqliteStoreOptions extends EventStoreOptions {
  /**
   * Paths that show domains ran from this state directory (their runtime folders). With one
   * present, a missing or empty log is refused instead of started as a fresh one. Default: none.
   */
  runtimeRecords?: readonly string[];
  /**
   * Write each commit on a worker thread with a connection of its own (sqlite_commit_thread.ts),
   * so its writes and fsync never stall the caller's loop; the service's stores do. Default
   * false: commits are written on the caller's thread.
   */
  commitThread?: boolean;
}

/*
 * Format 1 files opened read-only (`evirt log check`/`export` on a log the service has not yet
 * upgraded) have no checksum column; their rows get a checksum computed as they are read.
 */
function factColumns(format: number): string {
  return `position, stream, version, type, schema_version, timestamp_ms, body${
    format >= 2 ? ", checksum" : ""
  }`;
}

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
 * Before the store is handed out, the log is checked whole (see `open_checks.ts`): every fact's
 * checksum, position and stream version, the snapshots, the fact types, and the log against the
 * marker beside it. A log that fails is refused with the reason and the recovery steps.
 *
 * @param stateDir The state directory (`EVIRT_STATE_DIR`), absolute; created with mode 0700.
 * @param options Upcasters, retention, clock, fact types and runtime records.
 * @returns The open store; `close()` releases the file and the lock.
 * @throws {StateLockedError} When another process holds the state directory.
 * @throws {EventLogRefusedError} When the log is damaged, missing, behind or replaced.
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
  options: SqliteStoreOptions = {},
): Promise<SqliteEventStore> {
  try {
    const lock = acquireStateLock(stateDir);
    const databasePath = `${stateDir.replace(/\/+$/, "")}/${DATABASE_FILE}`;
    let storage: SqliteStorage | undefined;
    try {
      storage = openCheckedStorage(stateDir, databasePath, options);
      keepPrivate(databasePath);
      const opened = storage;
      if (options.commitThread === true) {
        opened.useCommitThread(new SqliteCommitThread(databasePath));
      }
      const { runtimeRecords: _records, commitThread: _thread, ...storeOptions } = options;
      const store = new LogStore(opened, storeOptions, () => lock.release());
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

/**
 * Makes the log and SQLite's companion files readable by their owner only: facts carry
 * definitions, and definitions carry secrets (a graphics console's `passwd`). SQLite creates the
 * `-wal` and `-shm` files with the database file's mode, so they follow once it is 0600.
 */
function keepPrivate(databasePath: string): void {
  for (const path of [databasePath, `${databasePath}-wal`, `${databasePath}-shm`]) {
    try {
      if ((Deno.statSync(path).mode ?? 0) & 0o077) Deno.chmodSync(path, 0o600);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
}

/**
 * {@linkcode FactStorage} on one SQLite connection with prepared statements. Exported for the
 * start-up checks and the offline `evirt log` tools, which open it read-only without the lock.
 */
export class SqliteStorage implements FactStorage {
  readonly #db: DatabaseSync;
  readonly #statements: ReturnType<typeof prepareStatements>;
  readonly #format: number;
  /** The format found and the log id. */
  readonly schema: SchemaState;
  #nextBodyOffset = 0;
  #marker: LogMarkerWriter | undefined;
  #commitThread: SqliteCommitThread | undefined;

  /**
   * @param path The database file.
   * @param readOnly Open only to read (no schema set-up, no upgrade, no lock needed).
   * @throws {EventStoreCorruptError} When the file is not an evirt log this version can read.
   * @throws {VirtError} With code SYSTEM_ERROR when it cannot be opened.
   */
  constructor(path: string, readOnly = false) {
    try {
      this.#db = new DatabaseSync(path, { enableForeignKeyConstraints: false, readOnly });
    } catch (error) {
      throw new VirtError(
        ErrorCode.SYSTEM_ERROR,
        `cannot open event log '${path}': ${(error as Error).message}`,
        { where: "EVIRT_STATE_DIR", cause: error },
      );
    }
    try {
      this.schema = prepareSchema(this.#db, path, readOnly);
      this.#format = this.schema.format;
      this.#statements = prepareStatements(this.#db, this.#format);
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

  /**
   * Writes each later commit on `thread` instead of this connection (see
   * sqlite_commit_thread.ts); the storage owns it and closes it.
   */
  useCommitThread(thread: SqliteCommitThread): void {
    this.#commitThread = thread;
  }

  commit(
    facts: readonly AppendedFact[],
    streamVersions: ReadonlyMap<string, number>,
  ): void | Promise<void> {
    const thread = this.#commitThread;
    if (thread !== undefined) {
      return thread.commit(facts, streamVersions, this.#nextBodyOffset).then((next) => {
        this.#nextBodyOffset = next;
        this.#writeMarker(facts[facts.length - 1]?.position);
      });
    }
    this.#nextBodyOffset = commitFacts(
      this.#db,
      this.#statements,
      facts,
      streamVersions,
      this.#nextBodyOffset,
    );
    this.#writeMarker(facts[facts.length - 1]?.position);
  }

  /**
   * From now on, records the head in `marker` after each commit. The store owns it and closes it.
   */
  attachMarker(marker: LogMarkerWriter): void {
    this.#marker = marker;
  }

  /** Every stream and its version, from the streams table. */
  listStreams(): [string, number][] {
    return this.#statements.listStreams.all() as unknown as [string, number][];
  }

  /** Every kept snapshot, oldest first. */
  listSnapshots(): StoredSnapshot[] {
    const rows = this.#statements.listSnapshots.all() as unknown as SnapshotRow[];
    return rows.map((row) => toStoredSnapshot(row, this.#format));
  }

  /**
   * Runs `body` in one write transaction that also receives raw rows (an import): all of it is
   * committed, or (when `body` throws) none of it.
   */
  async importTransaction(
    body: (sink: {
      fact(fact: StoredFact): void;
      stream(name: string, version: number): void;
      snapshot(snapshot: StoredSnapshot): void;
      oldest(position: number): void;
    }) => Promise<void>,
  ): Promise<void> {
    const statements = this.#statements;
    let bodyOffset = this.#nextBodyOffset;
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      await body({
        fact: (fact) => {
          bodyOffset = insertFactRow(statements, fact, bodyOffset);
        },
        stream: (name, version) => statements.upsertStream.run(name, version),
        snapshot: (snapshot) =>
          statements.insertSnapshot.run(
            snapshot.position,
            snapshot.timestampMs,
            snapshot.stateJson,
            snapshot.checksum,
          ),
        oldest: (position) => statements.setOldest.run(position),
      });
      this.#db.exec("COMMIT");
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw error;
    }
    this.#nextBodyOffset = bodyOffset;
  }

  /**
   * Runs `body` inside one read transaction, so every read sees the same state of the file even
   * while the service appends or prunes (the offline `evirt log` tools read a live log).
   */
  async readTransaction<T>(body: () => Promise<T> | T): Promise<T> {
    this.#db.exec("BEGIN DEFERRED");
    try {
      return await body();
    } finally {
      if (this.#db.isTransaction) this.#db.exec("COMMIT");
    }
  }

  #writeMarker(headPosition: number | undefined): void {
    if (this.#marker === undefined || headPosition === undefined) return;
    try {
      this.#marker.write(headPosition);
    } catch {
      // The commit is durable and acknowledged: a marker left behind only weakens the start-up
      // check (it never claims more than the log holds), so its failure must not fail the append.
    }
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
    return rows.map((row) => toStoredFact(row, this.#format));
  }

  readStream(stream: string, fromVersion: number, limit: number, maxBytes: number): StoredFact[] {
    return collect(
      this.#statements.readStream.iterate(stream, fromVersion, limit),
      maxBytes,
      this.#format,
    );
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
        snapshot.checksum,
      );
      this.#statements.trimSnapshots.run(keepMax);
    });
  }

  loadSnapshot(): StoredSnapshot | undefined {
    const row = this.#statements.loadSnapshot.get() as unknown as SnapshotRow | undefined;
    if (row === undefined) return undefined;
    return toStoredSnapshot(row, this.#format);
  }

  latestSnapshotPosition(): number | undefined {
    const row = this.#statements.latestSnapshotPosition.get() as unknown as [number] | undefined;
    return row?.[0];
  }

  deleteSnapshots(): void {
    this.#transaction(() => this.#statements.deleteSnapshots.run());
  }

  close(): void | Promise<void> {
    const thread = this.#commitThread;
    this.#commitThread = undefined;
    if (thread === undefined) return this.#closeConnection();
    // The thread's connection first, so the last one to close (this) checkpoints the WAL.
    return thread.close().finally(() => this.#closeConnection());
  }

  #closeConnection(): void {
    try {
      this.#marker?.close();
    } finally {
      this.#marker = undefined;
      if (this.#db.isOpen) this.#db.close();
    }
  }

  #transaction(body: () => void): void {
    inWriteTransaction(this.#db, body);
  }
}

function prepareStatements(db: DatabaseSync, format: number) {
  const factColumnList = factColumns(format);
  const snapshotColumns = `position, timestamp_ms, state${format >= 2 ? ", checksum" : ""}`;
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
    // Only format 2 is ever written: a read-only format-1 connection, whose table lacks the
    // checksum column, never prepares these.
    insertFact: prepareLater(prepare, INSERT_FACT_SQL),
    upsertStream: prepare(UPSERT_STREAM_SQL),
    firstBodyOffset: prepare(
      "SELECT body_offset FROM facts WHERE position > ? ORDER BY position LIMIT 1",
    ),
    lastStartingBefore: prepare(
      "SELECT position FROM facts WHERE body_offset < ? ORDER BY body_offset DESC LIMIT 1",
    ),
    readRange: prepare(
      `SELECT ${factColumnList} FROM facts WHERE position > ? AND position <= ? ` +
        "ORDER BY position LIMIT ?",
    ),
    readStream: prepare(
      `SELECT ${factColumnList} FROM facts WHERE stream = ? AND version >= ? ORDER BY version LIMIT ?`,
    ),
    firstAtOrAfter: prepare(
      "SELECT position FROM facts WHERE timestamp_ms >= ? ORDER BY position LIMIT 1",
    ),
    removeThrough: prepare("DELETE FROM facts WHERE position <= ?"),
    setOldest: prepare("UPDATE retention SET oldest_position = ? WHERE id = 1"),
    insertSnapshot: prepareLater(
      prepare,
      "INSERT INTO snapshots (position, timestamp_ms, state, checksum) VALUES (?, ?, ?, ?)",
    ),
    trimSnapshots: prepare(
      "DELETE FROM snapshots WHERE id NOT IN " +
        "(SELECT id FROM snapshots ORDER BY position DESC, id DESC LIMIT ?)",
    ),
    loadSnapshot: prepare(
      `SELECT ${snapshotColumns} FROM snapshots ORDER BY position DESC, id DESC LIMIT 1`,
    ),
    listSnapshots: prepare(`SELECT ${snapshotColumns} FROM snapshots ORDER BY position, id`),
    listStreams: prepare("SELECT name, version FROM streams ORDER BY name"),
    latestSnapshotPosition: prepare(
      "SELECT position FROM snapshots ORDER BY position DESC, id DESC LIMIT 1",
    ),
    deleteSnapshots: prepare("DELETE FROM snapshots"),
  };
}

/** A statement prepared on its first run. */
function prepareLater(
  prepare: (sql: string) => StatementSync,
  sql: string,
): { run(...values: (string | number)[]): unknown } {
  let statement: StatementSync | undefined;
  return { run: (...values) => (statement ??= prepare(sql)).run(...values) };
}

type Row = [number, string, number, string, number, number, string, number?];
type SnapshotRow = [number, number, string, number?];

function toStoredFact(row: Row, format: number): StoredFact {
  const fact = {
    position: row[0],
    stream: row[1],
    version: row[2],
    type: row[3],
    schemaVersion: row[4],
    timestampMs: row[5],
    bodyJson: row[6],
  };
  return { ...fact, checksum: format >= 2 ? row[7]! : factChecksum(fact) };
}

function toStoredSnapshot(row: SnapshotRow, format: number): StoredSnapshot {
  const snapshot = { position: row[0], timestampMs: row[1], stateJson: row[2] };
  return {
    ...snapshot,
    checksum: format >= 2 ? row[3]! : snapshotChecksumOf(snapshot),
  };
}

/** Steps row by row, stopping once the bodies reach `maxBytes`; for stream reads, which are small. */
function collect(rows: Iterable<unknown>, maxBytes: number, format: number): StoredFact[] {
  const facts: StoredFact[] = [];
  let bytes = 0;
  for (const row of rows as Iterable<Row>) {
    facts.push(toStoredFact(row, format));
    bytes += row[6].length;
    if (bytes >= maxBytes) break;
  }
  return facts;
}
