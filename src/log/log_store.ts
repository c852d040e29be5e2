/**
 * The {@linkcode EventStore} behaviour shared by every storage: argument checks, optimistic
 * concurrency, group commit, upcasting, subscriptions, snapshots and retention.
 *
 * Longer than 400 lines: the append queue, reads, snapshots and retention share the head and the
 * pending state this class guards, so splitting them would expose that state to other modules.
 *
 * @module
 */

import { setImmediate } from "node:timers";
import { ErrorCode, VirtError } from "../model/errors.ts";
import {
  checkInteger,
  checkLimit,
  checkRetentionPolicy,
  checkStreamName,
  prepareAppend,
  type PreparedRequest,
} from "./argument_checks.ts";
import {
  AppendQueueFullError,
  ChecksumMismatchError,
  EventStoreArgumentError,
  EventStoreCorruptError,
  EventStoreWriteError,
  PositionPrunedError,
  StoreClosedError,
  UnknownFactTypeError,
  VersionConflictError,
} from "./errors.ts";
import { factChecksum, factChecksumOfBody, snapshotChecksum } from "./fact_checksum.ts";
import {
  APPEND_PENDING_MAX,
  type AppendRequest,
  type AppendResult,
  COMMIT_FACTS_MAX,
  type EventStore,
  type EventStoreOptions,
  type ExpectedVersion,
  type Fact,
  type JsonValue,
  type NewFact,
  type PruneResult,
  READ_BYTES_MAX,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RetentionPolicy,
  type Snapshot,
  SNAPSHOT_STATE_MAX_BYTES,
  SNAPSHOTS_KEPT_MAX,
  SUBSCRIBE_PAGE_DEFAULT,
  type SubscribeOptions,
} from "./event_store.ts";
import type { AppendedFact, FactStorage, StoredFact } from "./fact_storage.ts";
import { copiedChars, isJsonTextReleased, jsonTextChars, jsonTextString } from "./json_pieces.ts";
import { HeadSignal } from "./head_signal.ts";
import { encodeJsonText } from "./json_text.ts";
import { followLog } from "./subscription.ts";
import { Upcasting } from "./upcasting.ts";

interface PendingAppend {
  requests: PreparedRequest[];
  resolve: (results: AppendResult[]) => void;
  reject: (error: Error) => void;
}

interface AcceptedAppend {
  pending: PendingAppend;
  results: AppendResult[];
}

/** A committed fact as its appender gave it, kept for the live tail (see `LogStore`). */
interface RecentFact {
  row: AppendedFact;
  body: JsonValue;
  /** The characters of its text kept here (none of a body moved to the log's thread). */
  keptChars: number;
}

/** Newest committed facts kept for the live tail. */
export const RECENT_FACTS_MAX = 256;

/**
 * Most body text (UTF-16 units) the kept facts may hold (a body moved to the commit thread counts
 * only what stays); the newest fact is kept regardless.
 */
export const RECENT_BODY_CHARS_MAX = 8 * 1024 * 1024;

/**
 * An {@linkcode EventStore} over a {@linkcode FactStorage}. Appends wait in a bounded
 * queue; the queue is committed as one transaction on the next turn of the event loop, so every
 * append made while the previous commit ran shares the next one.
 *
 * The newest committed facts ({@linkcode RECENT_FACTS_MAX}, at most
 * {@linkcode RECENT_BODY_CHARS_MAX} of body text) are kept in memory with their JSON text (but a
 * body that moved to the log's commit thread, src/log/json_pieces.ts) and the bodies their
 * appenders gave, so the live tail (the event hub, subscribers following the head)
 * reads them without reading the storage back and checking a checksum just computed; a subscriber
 * that asks for shared bodies (`sharedBodies`) does not even parse the JSON just encoded. For a
 * large definition that was most of a define's cost on the main loop. Anything older, and every
 * read at start-up, comes from the storage with its checksum checked.
 *
 * @example Over the in-memory storage
 * ```ts ignore
 * import { LogStore } from "./log_store.ts";
 * const store = new LogStore(storage, {});
 * await store.append("s", [{ type: "Made", body: {} }], 0);
 * ```
 */
export class LogStore implements EventStore {
  readonly #storage: FactStorage;
  readonly #upcasting: Upcasting;
  readonly #factTypes: ReadonlySet<string> | undefined;
  readonly #retention: RetentionPolicy;
  readonly #now: () => number;
  readonly #release: () => void;
  readonly #headSignal: HeadSignal;
  #head: number;
  #oldest: number;
  #lastTimestampMs: number;
  #pending: PendingAppend[] = [];
  /** The newest committed facts, in position order, ending at the head. */
  #recent: RecentFact[] = [];
  #recentBodyChars = 0;
  #flushScheduled = false;
  /** A commit the storage has not finished yet (an asynchronous storage); none starts meanwhile. */
  #inFlight: Promise<void> | undefined;
  #failure: EventStoreWriteError | undefined;
  #closing: Promise<void> | undefined;

  /**
   * @param storage The storage; the store owns it from now on and closes it.
   * @param options Upcasters, retention and clock.
   * @param release Called after the storage is closed (releases a file lock).
   * @throws {EventStoreArgumentError} When an option is invalid.
   */
  constructor(
    storage: FactStorage,
    options: EventStoreOptions = {},
    release: () => void = () => {},
  ) {
    if (options.now !== undefined && typeof options.now !== "function") {
      throw new EventStoreArgumentError("now", "now must be a function returning ms");
    }
    this.#upcasting = new Upcasting(options.upcasters);
    this.#factTypes = checkFactTypes(options.factTypes);
    this.#retention = checkRetentionPolicy(options.retention ?? {}, "retention");
    this.#now = options.now ?? Date.now;
    this.#storage = storage;
    this.#release = release;
    const head = storage.head();
    this.#head = head.headPosition;
    this.#oldest = head.oldestPosition;
    this.#lastTimestampMs = head.lastTimestampMs;
    if (this.#oldest < 1 || this.#oldest > this.#head + 1) {
      throw new EventStoreCorruptError(
        `oldest position ${this.#oldest} does not fit head position ${this.#head}`,
      );
    }
    this.#headSignal = new HeadSignal(this.#head);
  }

  append(
    stream: string,
    facts: NewFact[],
    expectedVersion: ExpectedVersion,
  ): Promise<AppendResult> {
    return this.appendMany([{ stream, facts, expectedVersion }]).then((results) => results[0]);
  }

  appendMany(requests: AppendRequest[]): Promise<AppendResult[]> {
    try {
      this.#checkOpen();
      if (this.#failure !== undefined) throw this.#failure;
      const prepared = prepareAppend(requests, this.#upcasting);
      if (this.#factTypes !== undefined) this.#checkAppendTypes(prepared);
      if (this.#pending.length >= APPEND_PENDING_MAX) {
        throw new AppendQueueFullError(APPEND_PENDING_MAX);
      }
      return new Promise((resolve, reject) => {
        this.#pending.push({ requests: prepared, resolve, reject });
        this.#scheduleFlush();
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  readStream(stream: string, options: ReadStreamOptions = {}): Promise<Fact[]> {
    return this.#run("cannot read the event log", () => {
      checkStreamName(stream);
      if (typeof options !== "object" || options === null) {
        throw new EventStoreArgumentError("options", "options must be an object");
      }
      const fromVersion = options.fromVersion === undefined
        ? 1
        : checkInteger(options.fromVersion, "fromVersion", 1, Number.MAX_SAFE_INTEGER);
      const limit = checkLimit(options.limit);
      const rows = this.#storage.readStream(stream, fromVersion, limit, READ_BYTES_MAX);
      if (rows.length === 0 || rows[0].version !== fromVersion) {
        const version = this.#storage.streamVersion(stream);
        if (version >= fromVersion) {
          throw new PositionPrunedError(
            "fromVersion",
            fromVersion,
            rows[0]?.version ?? version + 1,
          );
        }
      }
      return rows.map((row, index) => {
        if (row.stream !== stream || row.version !== fromVersion + index) {
          throw new EventStoreCorruptError(
            `stream '${stream}' returned version ${row.version} where ${
              fromVersion + index
            } belongs`,
          );
        }
        return this.#decode(row);
      });
    });
  }

  readAll(options: ReadAllOptions): Promise<Fact[]> {
    return this.#run("cannot read the event log", () => {
      if (typeof options !== "object" || options === null) {
        throw new EventStoreArgumentError("options", "options must be an object");
      }
      const afterPosition = this.#checkAfterPosition(options.afterPosition);
      return this.#readAfter(afterPosition, checkLimit(options.limit));
    });
  }

  subscribe(options: SubscribeOptions): AsyncIterable<Fact> {
    this.#checkOpen();
    if (typeof options !== "object" || options === null) {
      throw new EventStoreArgumentError("options", "options must be an object");
    }
    const afterPosition = this.#checkAfterPosition(options.afterPosition);
    const pageSize = options.pageSize === undefined
      ? SUBSCRIBE_PAGE_DEFAULT
      : checkLimit(options.pageSize, "pageSize");
    if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
      throw new EventStoreArgumentError("signal", "signal must be an AbortSignal");
    }
    const shared = options.sharedBodies === true;
    const source = {
      headSignal: this.#headSignal,
      readAll: (after: number, limit: number) =>
        this.#run("cannot read the event log", () => this.#readAfter(after, limit, shared)),
    };
    return followLog(source, afterPosition, pageSize, options.signal);
  }

  streamVersion(stream: string): Promise<number> {
    return this.#run("cannot read the event log", () => {
      checkStreamName(stream);
      return this.#storage.streamVersion(stream);
    });
  }

  headPosition(): number {
    this.#checkOpen();
    return this.#head;
  }

  oldestPosition(): number {
    this.#checkOpen();
    return this.#oldest;
  }

  saveSnapshot(snapshot: Snapshot): Promise<void> {
    return this.#run("cannot save the snapshot", () => {
      if (typeof snapshot !== "object" || snapshot === null) {
        throw new EventStoreArgumentError("snapshot", "snapshot must be an object");
      }
      const position = checkInteger(
        snapshot.position,
        "snapshot.position",
        this.#oldest - 1,
        this.#head,
      );
      const stateJson = encodeJsonText(snapshot.state, "snapshot.state", SNAPSHOT_STATE_MAX_BYTES);
      const saved = { position, timestampMs: this.#now(), stateJson };
      const saving = this.#storage.saveSnapshot(
        { ...saved, checksum: snapshotChecksum(saved) },
        SNAPSHOTS_KEPT_MAX,
      );
      const retain = (): void | Promise<void> => {
        if (this.#retention.maxAgeMs === undefined && this.#retention.keepMax === undefined) return;
        const pruned = this.#pruneWith(this.#retention);
        if (pruned instanceof Promise) return pruned.then(() => {});
      };
      return saving instanceof Promise ? saving.then(retain) : retain();
    });
  }

  loadSnapshot(): Promise<Snapshot | undefined> {
    return this.#run("cannot load the snapshot", () => {
      const stored = this.#storage.loadSnapshot();
      if (stored === undefined) return undefined;
      const computed = snapshotChecksum(stored);
      if (computed !== stored.checksum) {
        throw new ChecksumMismatchError("snapshot", stored.position, stored.checksum, computed);
      }
      if (stored.position > this.#head || stored.position < 0) {
        throw new EventStoreCorruptError(
          `snapshot at position ${stored.position} is beyond the head ${this.#head}`,
        );
      }
      return { position: stored.position, state: this.#parse(stored.stateJson, "snapshot") };
    });
  }

  deleteSnapshots(): Promise<void> {
    return this.#run("cannot delete snapshots", () => {
      if (this.#oldest > 1) {
        throw new VirtError(
          ErrorCode.OPERATION_INVALID,
          `cannot delete snapshots: facts up to position ${
            this.#oldest - 1
          } were pruned and live on only in them`,
        );
      }
      return this.#storage.deleteSnapshots();
    });
  }

  prune(policy?: RetentionPolicy): Promise<PruneResult> {
    return this.#run(
      "cannot prune the event log",
      () => this.#pruneWith(checkRetentionPolicy(policy ?? this.#retention)),
    );
  }

  close(): Promise<void> {
    // With a synchronous storage the store is closed before close() returns.
    this.#closing ??= this.#run("cannot close the event log", () => this.#shutDown(), false);
    return this.#closing;
  }

  #shutDown(): void | Promise<void> {
    // Pending appends were promised a commit: give them one before the storage goes.
    while (
      this.#inFlight === undefined && this.#pending.length > 0 && this.#failure === undefined
    ) {
      this.#flush();
    }
    if (this.#inFlight !== undefined) return this.#inFlight.then(() => this.#shutDown());
    for (const pending of this.#pending.splice(0)) pending.reject(new StoreClosedError());
    this.#recent = [];
    this.#recentBodyChars = 0;
    this.#headSignal.close();
    let closing: void | Promise<void>;
    try {
      closing = this.#storage.close();
    } catch (error) {
      this.#release();
      throw error;
    }
    if (!(closing instanceof Promise)) return this.#release();
    return closing.finally(() => this.#release());
  }

  /**
   * Runs a storage operation (synchronous, or finishing later) as a promise. Typed errors pass
   * through; anything else (a SQLite I/O error) becomes a SYSTEM_ERROR saying what failed.
   */
  #run<T>(failure: string, action: () => T | Promise<T>, open = true): Promise<T> {
    try {
      if (open) this.#checkOpen();
      const result = action();
      return result instanceof Promise
        ? result.catch((error) => Promise.reject(storageFailure(failure, error)))
        : Promise.resolve(result);
    } catch (error) {
      return Promise.reject(storageFailure(failure, error));
    }
  }

  #checkOpen(): void {
    if (this.#closing !== undefined) throw new StoreClosedError();
  }

  #checkAfterPosition(value: unknown): number {
    const afterPosition = checkInteger(value, "afterPosition", 0, Number.MAX_SAFE_INTEGER);
    if (afterPosition < this.#oldest - 1) {
      throw new PositionPrunedError("afterPosition", afterPosition + 1, this.#oldest);
    }
    return afterPosition;
  }

  #readAfter(afterPosition: number, limit: number, shared = false): Fact[] {
    if (afterPosition < this.#oldest - 1) {
      throw new PositionPrunedError("afterPosition", afterPosition + 1, this.#oldest);
    }
    if (afterPosition >= this.#head) return [];
    const count = Math.min(limit, this.#head - afterPosition);
    const recent = this.#recentAfter(afterPosition, count, shared);
    if (recent !== undefined) return recent;
    // No in-memory window of recent facts here: the service's one tailing subscriber, the event
    // hub, keeps the recent entries (rendered once) for every event stream.
    const rows = this.#storage.readAll(afterPosition, count, READ_BYTES_MAX);
    if (rows.length === 0) {
      throw new EventStoreCorruptError(`no fact found after position ${afterPosition}`);
    }
    const facts: Fact[] = new Array(rows.length);
    for (let index = 0; index < rows.length; index++) {
      const row = rows[index];
      if (row.position !== afterPosition + index + 1) {
        throw new EventStoreCorruptError(
          `found position ${row.position} where ${afterPosition + index + 1} belongs`,
        );
      }
      facts[index] = this.#decode(row);
    }
    return facts;
  }

  /**
   * Up to `count` facts after `afterPosition` from the kept ones, or undefined when not kept;
   * with the appenders' bodies when `shared`, else bodies parsed afresh.
   */
  #recentAfter(afterPosition: number, count: number, shared: boolean): Fact[] | undefined {
    const first = this.#recent[0]?.row.position;
    if (first === undefined || afterPosition + 1 < first) return undefined;
    const facts: Fact[] = [];
    let chars = 0;
    for (let index = afterPosition + 1 - first; index < this.#recent.length; index++) {
      const { row, body } = this.#recent[index];
      // A body moved to the log's thread (json_pieces.ts) is read afresh from the storage.
      if (!shared && isJsonTextReleased(row.bodyJson)) return undefined;
      facts.push({
        position: row.position,
        stream: row.stream,
        version: row.version,
        type: row.type,
        schemaVersion: this.#upcasting.currentVersion(row.type),
        timestampMs: row.timestampMs,
        body: this.#upcasting.upgrade(
          row.position,
          row.type,
          row.schemaVersion,
          shared ? body : this.#parse(jsonTextString(row.bodyJson), `fact ${row.position}`),
        ),
      });
      chars += jsonTextChars(row.bodyJson);
      // Bounded as storage reads are: by count, and by body size after the first.
      if (facts.length >= count || chars >= READ_BYTES_MAX) break;
    }
    return facts;
  }

  /** Keeps committed facts for the live tail, dropping the oldest beyond the bounds. */
  #keepRecent(rows: readonly AppendedFact[], bodies: readonly JsonValue[]): void {
    for (let index = 0; index < rows.length; index++) {
      const text = rows[index].bodyJson;
      const keptChars = isJsonTextReleased(text) ? copiedChars(text) : jsonTextChars(text);
      this.#recent.push({ row: rows[index], body: bodies[index], keptChars });
      this.#recentBodyChars += keptChars;
    }
    let drop = 0;
    let chars = this.#recentBodyChars;
    while (
      this.#recent.length - drop > 1 &&
      (this.#recent.length - drop > RECENT_FACTS_MAX || chars > RECENT_BODY_CHARS_MAX)
    ) {
      chars -= this.#recent[drop].keptChars;
      drop++;
    }
    if (drop > 0) this.#recent.splice(0, drop);
    this.#recentBodyChars = chars;
  }

  #decode(row: StoredFact): Fact {
    // Checked before anything of the row is used: a changed byte must never become state.
    const computed = factChecksum(row);
    if (computed !== row.checksum) {
      throw new ChecksumMismatchError("fact", row.position, row.checksum, computed);
    }
    if (this.#factTypes !== undefined && !this.#isKnownType(row.type)) {
      throw new UnknownFactTypeError(row.position, row.type);
    }
    const body = this.#parse(row.bodyJson, `fact ${row.position}`);
    return {
      position: row.position,
      stream: row.stream,
      version: row.version,
      type: row.type,
      schemaVersion: this.#upcasting.currentVersion(row.type),
      timestampMs: row.timestampMs,
      body: this.#upcasting.upgrade(row.position, row.type, row.schemaVersion, body),
    };
  }

  #isKnownType(type: string): boolean {
    return this.#factTypes === undefined || this.#factTypes.has(type) ||
      this.#upcasting.handles(type);
  }

  #checkAppendTypes(prepared: readonly PreparedRequest[]): void {
    prepared.forEach((request, index) => {
      request.facts.forEach((fact, factIndex) => {
        if (this.#isKnownType(fact.type)) return;
        const where = `${
          prepared.length === 1 ? "" : `requests[${index}].`
        }facts[${factIndex}].type`;
        throw new EventStoreArgumentError(
          where,
          `fact type '${fact.type}' is not one this event log holds`,
        );
      });
    });
  }

  #parse(text: string, what: string): JsonValue {
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new EventStoreCorruptError(`${what} is not valid JSON`, error);
    }
  }

  #pruneWith(policy: RetentionPolicy): PruneResult | Promise<PruneResult> {
    const snapshotPosition = this.#storage.latestSnapshotPosition();
    const cutoffs: number[] = [];
    if (policy.keepMax !== undefined) cutoffs.push(this.#head - policy.keepMax);
    if (policy.maxAgeMs !== undefined) {
      const first = this.#storage.firstPositionAtOrAfter(this.#now() - policy.maxAgeMs);
      cutoffs.push(first === undefined ? this.#head : first - 1);
    }
    if (snapshotPosition === undefined || cutoffs.length === 0) {
      return { removed: 0, oldestPosition: this.#oldest };
    }
    const cutoff = Math.min(Math.max(...cutoffs), snapshotPosition);
    if (cutoff < this.#oldest) return { removed: 0, oldestPosition: this.#oldest };
    const removing = this.#storage.removeThrough(cutoff);
    const removed = (count: number): PruneResult => {
      this.#oldest = Math.max(this.#oldest, cutoff + 1);
      return { removed: count, oldestPosition: this.#oldest };
    };
    return removing instanceof Promise ? removing.then(removed) : removed(removing);
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    // setImmediate runs after every ready microtask, so writers woken by the last commit queue
    // their next appends first; setTimeout(0) would add a clamped delay per commit.
    setImmediate(() => {
      this.#flushScheduled = false;
      if (this.#closing !== undefined || this.#inFlight !== undefined) return;
      this.#flush();
      if (this.#pending.length > 0 && this.#inFlight === undefined) this.#scheduleFlush();
    });
  }

  /** Commits as many waiting appends as fit in one transaction. */
  #flush(): void {
    const batch = this.#takeBatch();
    const versions = new Map<string, number>();
    const rows: AppendedFact[] = [];
    const bodies: JsonValue[] = [];
    const accepted: AcceptedAppend[] = [];
    const timestampMs = Math.max(this.#now(), this.#lastTimestampMs);
    let committing: void | Promise<void> = undefined;
    try {
      for (const pending of batch) {
        const placed = this.#place(pending, versions, rows, bodies, timestampMs);
        if (placed instanceof VersionConflictError) pending.reject(placed);
        else accepted.push({ pending, results: placed });
      }
      if (rows.length > 0) committing = this.#storage.commit(rows, versions);
    } catch (error) {
      this.#refuse(batch, error);
      return;
    }
    if (!(committing instanceof Promise)) {
      this.#acknowledge(rows, bodies, accepted, timestampMs);
      return;
    }
    // An asynchronous storage: nothing is acknowledged, and no other batch placed, until it is durable.
    this.#inFlight = committing.then(
      () => this.#acknowledge(rows, bodies, accepted, timestampMs),
      (error) => this.#refuse(accepted.map(({ pending }) => pending), error),
    ).finally(() => {
      this.#inFlight = undefined;
      if (this.#pending.length > 0 && this.#closing === undefined) this.#scheduleFlush();
    });
  }

  /**
   * Reading versions or writing failed: the storage rolled the transaction back, so nothing of
   * the batch is acknowledged. Appends still queued get their own try: a full disk or a lock
   * passes. Only a damaged log refuses every later append (EventStoreWriteError says).
   */
  #refuse(batch: readonly PendingAppend[], error: unknown): void {
    const failure = new EventStoreWriteError(error);
    const refused = failure.failure.retryable ? batch : [...batch, ...this.#pending.splice(0)];
    if (!failure.failure.retryable) this.#failure = failure;
    for (const pending of refused) pending.reject(failure);
  }

  /** The batch is durable: advances the head and answers its appenders. */
  #acknowledge(
    rows: readonly AppendedFact[],
    bodies: readonly JsonValue[],
    accepted: readonly AcceptedAppend[],
    timestampMs: number,
  ): void {
    if (rows.length === 0) return;
    this.#head += rows.length;
    this.#lastTimestampMs = timestampMs;
    this.#keepRecent(rows, bodies);
    for (const { pending, results } of accepted) pending.resolve(results);
    this.#headSignal.advance(this.#head);
  }

  #takeBatch(): PendingAppend[] {
    let facts = 0;
    let count = 0;
    for (const pending of this.#pending) {
      const size = pending.requests.reduce((sum, request) => sum + request.facts.length, 0);
      if (count > 0 && facts + size > COMMIT_FACTS_MAX) break;
      facts += size;
      count++;
    }
    return this.#pending.splice(0, count);
  }

  /**
   * Gives one append its positions and versions after those already placed in this batch, or
   * returns the conflict that refuses it (then nothing of it is placed).
   */
  #place(
    pending: PendingAppend,
    versions: Map<string, number>,
    rows: AppendedFact[],
    bodies: JsonValue[],
    timestampMs: number,
  ): AppendResult[] | VersionConflictError {
    const local = new Map<string, number>();
    const placedRows: AppendedFact[] = [];
    const placedBodies: JsonValue[] = [];
    const results: AppendResult[] = [];
    for (const request of pending.requests) {
      const current = local.get(request.stream) ?? versions.get(request.stream) ??
        this.#storage.streamVersion(request.stream);
      if (request.expectedVersion !== -1 && request.expectedVersion !== current) {
        return new VersionConflictError(request.stream, request.expectedVersion, current);
      }
      const firstPosition = this.#head + rows.length + placedRows.length + 1;
      request.facts.forEach((fact, index) => {
        const row = {
          position: firstPosition + index,
          stream: request.stream,
          version: current + index + 1,
          type: fact.type,
          schemaVersion: fact.schemaVersion,
          timestampMs,
        };
        // A body encoded on another thread came with its CRC: no pass over it here.
        const checksum = fact.bodyKnown === undefined
          ? factChecksum({ ...row, bodyJson: jsonTextString(fact.bodyJson) })
          : factChecksumOfBody(row, fact.bodyKnown);
        placedRows.push({ ...row, bodyJson: fact.bodyJson, checksum });
        placedBodies.push(fact.body);
      });
      const streamVersion = current + request.facts.length;
      local.set(request.stream, streamVersion);
      results.push({
        firstPosition,
        lastPosition: firstPosition + request.facts.length - 1,
        streamVersion,
      });
    }
    for (const [stream, version] of local) versions.set(stream, version);
    for (const row of placedRows) rows.push(row);
    for (const body of placedBodies) bodies.push(body);
    return results;
  }
}

/** A storage error as the store reports it: typed errors as they are, others as code 38. */
function storageFailure(failure: string, error: unknown): Error {
  if (error instanceof VirtError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new VirtError(ErrorCode.SYSTEM_ERROR, `${failure}: ${message}`, { cause: error });
}

/** Checks the `factTypes` option: undefined (any type), or an array of type names. */
function checkFactTypes(factTypes: unknown): ReadonlySet<string> | undefined {
  if (factTypes === undefined) return undefined;
  if (!Array.isArray(factTypes) || factTypes.some((type) => typeof type !== "string")) {
    throw new EventStoreArgumentError("factTypes", "factTypes must be an array of type names");
  }
  return new Set(factTypes);
}
