/**
 * The durable event log's contract: what every store (SQLite, in-memory, later remote engines)
 * offers, and the limits every store enforces the same way.
 *
 * A fact is appended to a stream (one per domain, say) with optimistic concurrency, gets a global,
 * gapless position and a per-stream version, and is read back by stream, by global position, or
 * by following the log live. Snapshots let recovery start from a recent position instead of from
 * zero; retention may then remove the facts a snapshot covers.
 *
 * @example Appending and reading back
 * ```ts ignore
 * import type { EventStore } from "./event_store.ts";
 * declare const store: EventStore;
 * const result = await store.append("domain/web", [{ type: "DomainDefined", body: { name: "web" } }], 0);
 * const facts = await store.readStream("domain/web");
 * console.log(result.streamVersion, facts[0].type); // 1 "DomainDefined"
 * ```
 *
 * @module
 */

/** A value that survives `JSON.stringify` and `JSON.parse` unchanged. */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };

/** A fact to append: its type, its JSON body and the schema version the body is written in. */
export interface NewFact {
  /** The fact's type, e.g. `DomainStarted`: a letter, then letters, digits, `_`, `.`, `:`, `-`. */
  type: string;
  /** The fact's data. Stored as JSON; a value JSON cannot represent exactly is refused. */
  body: JsonValue;
  /**
   * The schema version `body` is written in. Default: the current version of `type`, i.e. one
   * past the highest upcaster registered for it, or 1 when it has none.
   */
  schemaVersion?: number;
}

/** A stored fact, as read back. */
export interface Fact {
  /** Global position, 1-based; positions are assigned without gaps at append time. */
  position: number;
  /** The stream the fact belongs to. */
  stream: string;
  /** The fact's version within its stream, 1-based and gapless. */
  version: number;
  /** The fact's type. */
  type: string;
  /** The schema version of `body` after upcasting: the current one for `type`. */
  schemaVersion: number;
  /** When the fact was appended, in ms since the epoch; never decreases with position. */
  timestampMs: number;
  /** The fact's data, upcast to `schemaVersion`. A fresh copy on every read. */
  body: JsonValue;
}

/**
 * What the caller believes a stream's version to be: the exact current version (0 = the stream
 * must not exist yet), or `"any"` to append without a check.
 */
export type ExpectedVersion = number | "any";

/** The outcome of one stream's append. */
export interface AppendResult {
  /** Global position of the first appended fact. */
  firstPosition: number;
  /** Global position of the last appended fact. */
  lastPosition: number;
  /** The stream's version after the append (the version of its last fact). */
  streamVersion: number;
}

/** One stream's part of {@linkcode EventStore.appendMany}. */
export interface AppendRequest {
  /** The stream to append to. */
  stream: string;
  /** The facts, in order; at least one, at most {@linkcode FACTS_PER_APPEND_MAX}. */
  facts: NewFact[];
  /** The version the stream must have before this request's facts. */
  expectedVersion: ExpectedVersion;
}

/** Options of {@linkcode EventStore.readStream}. */
export interface ReadStreamOptions {
  /** The first version to return, 1-based. Default 1. */
  fromVersion?: number;
  /** The most facts to return, 1 to {@linkcode READ_LIMIT_MAX}. Default {@linkcode READ_LIMIT_MAX}. */
  limit?: number;
}

/** Options of {@linkcode EventStore.readAll}. */
export interface ReadAllOptions {
  /** Return facts strictly after this global position; 0 reads from the start. */
  afterPosition: number;
  /** The most facts to return, 1 to {@linkcode READ_LIMIT_MAX}. Default {@linkcode READ_LIMIT_MAX}. */
  limit?: number;
}

/** Options of {@linkcode EventStore.subscribe}. */
export interface SubscribeOptions {
  /** Deliver facts strictly after this global position; 0 delivers everything retained. */
  afterPosition: number;
  /** Ends the iteration (normally, without an error) when aborted. */
  signal?: AbortSignal;
  /**
   * How many facts to read from the store at a time while catching up, 1 to
   * {@linkcode READ_LIMIT_MAX}; bounds the subscriber's memory. Default {@linkcode SUBSCRIBE_PAGE_DEFAULT}.
   */
  pageSize?: number;
  /**
   * Deliver the newest facts, while the store still keeps them in memory, with the very bodies
   * their appenders gave instead of fresh copies: no JSON is parsed for them. For a reader that
   * only looks and never changes a body (the event hub). Default false: every body is fresh.
   */
  sharedBodies?: boolean;
}

/** A snapshot of the whole state derived from the log up to and including `position`. */
export interface Snapshot {
  /** The global position the state includes (0 = before any fact). */
  position: number;
  /** The state, as JSON. */
  state: JsonValue;
}

/**
 * Which facts retention may remove. Only facts at or below the latest snapshot's position are
 * ever removed, oldest first, so the log keeps a gapless suffix. With no field set, nothing is
 * removed (retention off).
 */
export interface RetentionPolicy {
  /** Remove facts appended more than this many ms ago. */
  maxAgeMs?: number;
  /** Remove facts beyond the newest `keepMax` of the whole log. */
  keepMax?: number;
}

/** The outcome of {@linkcode EventStore.prune}. */
export interface PruneResult {
  /** How many facts were removed. */
  removed: number;
  /** The oldest retained position afterwards. */
  oldestPosition: number;
}

/**
 * Upgrades old bodies on read: `upcasters[type][n]` turns a body of schema version `n` into one of
 * version `n + 1`. They chain, so a version-1 body passes through every later step. They must be
 * pure: they run on every read and never change what is stored.
 */
export type Upcasters = Readonly<
  Record<string, Readonly<Record<number, (body: JsonValue) => JsonValue>>>
>;

/** Options every store accepts when opened. */
export interface EventStoreOptions {
  /** Body upgrades applied on read. Default: none. */
  upcasters?: Upcasters;
  /**
   * Retention applied after each saved snapshot, and the default of `prune()`. Default: off.
   */
  retention?: RetentionPolicy;
  /** The clock for fact timestamps and retention ages, in ms since the epoch. Default `Date.now`. */
  now?: () => number;
  /**
   * The fact types this log holds. When given, appending another type is refused, and reading a
   * stored fact of another type fails with {@linkcode UnknownFactTypeError} unless `upcasters`
   * has an entry for it. Default: any type (a store of generic facts, as in tests).
   */
  factTypes?: readonly string[];
}

/**
 * The durable event log.
 *
 * Every method of a closed store throws {@linkcode StoreClosedError}, and every invalid argument
 * throws {@linkcode EventStoreArgumentError} before anything changes.
 */
export interface EventStore {
  /**
   * Appends facts to one stream. Resolves only once the facts are durable (group commit: appends
   * made while a commit is running share the next one).
   *
   * @param stream The stream name: 1 to {@linkcode STREAM_NAME_MAX_BYTES} bytes, no control characters.
   * @param facts The facts, in order; 1 to {@linkcode FACTS_PER_APPEND_MAX}.
   * @param expectedVersion The stream's version as the caller knows it, or `"any"`.
   * @returns Where the facts landed.
   * @throws {VersionConflictError} When the stream is not at `expectedVersion`; nothing is appended.
   * @throws {AppendQueueFullError} When {@linkcode APPEND_PENDING_MAX} appends already wait.
   */
  append(stream: string, facts: NewFact[], expectedVersion: ExpectedVersion): Promise<AppendResult>;

  /**
   * Appends to several streams atomically: either every request's facts are durable, or (on any
   * conflict or failure) none is. Requests apply in order, so one stream may appear twice, the
   * second expecting the version the first leaves.
   *
   * @param requests 1 to {@linkcode FACTS_PER_APPEND_MAX} facts in all.
   * @returns One result per request, in order.
   * @throws {VersionConflictError} For the first request whose stream is not at its expected version.
   */
  appendMany(requests: AppendRequest[]): Promise<AppendResult[]>;

  /**
   * Reads one stream's facts in version order. A page may be shorter than `limit` (see
   * {@linkcode READ_BYTES_MAX}); read on from the last version + 1 until a read returns none.
   *
   * @throws {PositionPrunedError} When `fromVersion` of an existing stream was pruned.
   */
  readStream(stream: string, options?: ReadStreamOptions): Promise<Fact[]>;

  /**
   * Reads facts of all streams in position order, strictly after `afterPosition`. A page may be
   * shorter than `limit` (see {@linkcode READ_BYTES_MAX}); read on from the last position until
   * it reaches {@linkcode EventStore.headPosition}.
   *
   * @throws {PositionPrunedError} When `afterPosition < oldestPosition() - 1`.
   */
  readAll(options: ReadAllOptions): Promise<Fact[]>;

  /**
   * Follows the log: first the stored facts after `afterPosition`, read in bounded pages, then
   * each new fact once it is durable, with no gap and no duplicate across that boundary. Ends
   * normally when `signal` aborts or the store closes.
   *
   * @throws {PositionPrunedError} At once when `afterPosition` is already pruned, or from the
   *   iterator when the subscriber falls behind retention.
   * @throws {EventStoreArgumentError} At once for an invalid option.
   */
  subscribe(options: SubscribeOptions): AsyncIterable<Fact>;

  /** The version of `stream`: its number of facts ever appended, 0 when it does not exist. */
  streamVersion(stream: string): Promise<number>;

  /** The position of the last durable fact, 0 when the log is empty. */
  headPosition(): number;

  /** The oldest position still readable: 1 until retention removes facts; `headPosition() + 1` when all are removed. */
  oldestPosition(): number;

  /**
   * Saves a durable snapshot of the state up to `position`, then applies the retention policy
   * given at open, if any.
   *
   * @throws {EventStoreArgumentError} When `position` is above the head or below `oldestPosition() - 1`,
   *   or the state is larger than {@linkcode SNAPSHOT_STATE_MAX_BYTES} as JSON.
   */
  saveSnapshot(snapshot: Snapshot): Promise<void>;

  /** The snapshot with the highest position (the newest of equals), or undefined when none. */
  loadSnapshot(): Promise<Snapshot | undefined>;

  /**
   * Deletes every snapshot, so recovery replays from position 0.
   *
   * @throws {VirtError} With code OPERATION_INVALID when facts were already pruned: the snapshots
   *   are then the only record of them.
   */
  deleteSnapshots(): Promise<void>;

  /**
   * Removes the oldest facts that `policy` allows and that the latest snapshot covers.
   *
   * @param policy Default: the retention policy given at open (off when none was).
   */
  prune(policy?: RetentionPolicy): Promise<PruneResult>;

  /**
   * Waits for pending appends to be committed, ends subscriptions, and releases the store (and,
   * for a file store, its lock). Calling it again does nothing.
   */
  close(): Promise<void>;
}

/** Longest stream name, in UTF-8 bytes. */
export const STREAM_NAME_MAX_BYTES = 256;

/** Longest fact type, in UTF-8 bytes. */
export const FACT_TYPE_MAX_BYTES = 128;

/**
 * Largest fact body, as JSON text in UTF-8 bytes: room for a domain definition parsed from the
 * largest accepted domain XML (4 MiB by default).
 */
export const FACT_BODY_MAX_BYTES = 8 * 1024 * 1024;

/** Deepest nesting of arrays and objects in a body or snapshot state. */
export const JSON_DEPTH_MAX = 64;

/** Most facts in one `append` or `appendMany` call. */
export const FACTS_PER_APPEND_MAX = 1000;

/** Most appends waiting for their commit at once; one more fails with `AppendQueueFullError`. */
export const APPEND_PENDING_MAX = 16_384;

/** Most facts one `readStream` or `readAll` call returns. */
export const READ_LIMIT_MAX = 10_000;

/**
 * Body size at which one read stops early, as JSON text length: a page may hold fewer than
 * `limit` facts when they are large, but always at least one. A page's bodies thus hold at most
 * this plus one {@linkcode FACT_BODY_MAX_BYTES} body.
 */
export const READ_BYTES_MAX = 32 * 1024 * 1024;

/** Most facts written in one transaction; a longer queue of appends takes several. */
export const COMMIT_FACTS_MAX = 16_384;

/** Snapshots kept; saving one more drops the oldest. */
export const SNAPSHOTS_KEPT_MAX = 2;

/** Facts a subscriber reads per page while catching up, unless it asks otherwise. */
export const SUBSCRIBE_PAGE_DEFAULT = 1000;

/** Largest snapshot state, as JSON text in UTF-8 bytes. */
export const SNAPSHOT_STATE_MAX_BYTES = 256 * 1024 * 1024;

/** Highest schema version a fact may carry. */
export const SCHEMA_VERSION_MAX = 1_000_000;
