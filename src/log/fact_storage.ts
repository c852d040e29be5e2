/**
 * The storage under a {@linkcode LogStore}: rows in, rows out, each write one atomic and durable
 * transaction. Reads are synchronous; writes may finish later (a remote log acknowledges over the
 * network), and the store then waits for them before it acknowledges anything. Checking arguments, versions, upcasting, group commit and
 * subscriptions live above it, so every storage behaves the same.
 *
 * @module
 */

import type { Fact } from "./event_store.ts";
import { type JsonText, jsonTextString } from "./json_pieces.ts";

/** A fact as stored: the body kept as JSON text, at the schema version it was written in. */
export interface StoredFact extends Omit<Fact, "body" | "schemaVersion"> {
  /** The schema version the body was written in (upcasting happens on read, above storage). */
  schemaVersion: number;
  /** The body as JSON text. */
  bodyJson: string;
  /** CRC-32 of every other field (see `fact_checksum.ts`), checked on every read. */
  checksum: number;
}

/**
 * A fact as the store hands it to storage to commit: as stored, but its body's JSON text may be
 * in UTF-8 pieces (a large definition's text, moved between threads: see json_pieces.ts).
 */
export interface AppendedFact extends Omit<StoredFact, "bodyJson"> {
  /** The body as JSON text. */
  bodyJson: JsonText;
}

/**
 * `fact` with its body as one string, for a storage that keeps or sends strings.
 *
 * @example
 * ```ts
 * import { storedFact } from "./fact_storage.ts";
 * const fact = { position: 1, stream: "s", version: 1, type: "t", schemaVersion: 1, timestampMs: 0, checksum: 0 };
 * console.log(storedFact({ ...fact, bodyJson: { pieces: ["[", new Uint8Array([0x31]), "]"], chars: 3 } }).bodyJson);
 * // [1]
 * ```
 */
export function storedFact(fact: AppendedFact): StoredFact {
  return typeof fact.bodyJson === "string"
    ? fact as StoredFact
    : { ...fact, bodyJson: jsonTextString(fact.bodyJson) };
}

/** A snapshot as stored. */
export interface StoredSnapshot {
  /** The global position the state includes. */
  position: number;
  /** When it was saved, ms since the epoch. */
  timestampMs: number;
  /** The state as JSON text. */
  stateJson: string;
  /** CRC-32 of every other field (see `fact_checksum.ts`), checked on every load. */
  checksum: number;
}

/** What a storage holds when opened. */
export interface StorageHead {
  /** The last position ever appended, 0 when none. */
  headPosition: number;
  /** The oldest retained position (1 until facts are pruned). */
  oldestPosition: number;
  /** The timestamp of the last fact, 0 when none. */
  lastTimestampMs: number;
}

/**
 * A store of facts and snapshots. Each method either completes fully or throws (or rejects) and
 * changes nothing. A write that returns a promise is complete once the promise resolves; the
 * store calls no other write until then.
 *
 * @example Reading the head
 * ```ts ignore
 * import type { FactStorage } from "./fact_storage.ts";
 * declare const storage: FactStorage;
 * console.log(storage.head().headPosition);
 * ```
 */
export interface FactStorage {
  /** The head, oldest retained position and last timestamp, as stored. */
  head(): StorageHead;
  /** The current version of `stream`, 0 when it does not exist. */
  streamVersion(stream: string): number;
  /**
   * Writes `facts` (consecutive positions after the head) and the streams' new versions in one
   * transaction, returning once it is durable.
   */
  commit(
    facts: readonly AppendedFact[],
    streamVersions: ReadonlyMap<string, number>,
  ): void | Promise<void>;
  /**
   * Facts strictly after `afterPosition`, in position order, at most `limit`, and only those that
   * start within `maxBytes` of the first one's body: the bodies' total length (JSON text length in
   * UTF-16 code units) stays below `maxBytes` plus one body. The first fact always comes.
   */
  readAll(afterPosition: number, limit: number, maxBytes: number): StoredFact[];
  /** Facts of `stream` from version `fromVersion`, in version order, bounded as `readAll`. */
  readStream(stream: string, fromVersion: number, limit: number, maxBytes: number): StoredFact[];
  /** The position of the first fact appended at or after `timestampMs`, or undefined. */
  firstPositionAtOrAfter(timestampMs: number): number | undefined;
  /** Removes every fact at or below `position` and records `position + 1` as the oldest. */
  removeThrough(position: number): number | Promise<number>;
  /** Stores a snapshot and drops all but the newest `keepMax` snapshots. */
  saveSnapshot(snapshot: StoredSnapshot, keepMax: number): void | Promise<void>;
  /** The snapshot with the highest position (newest of equals), or undefined. */
  loadSnapshot(): StoredSnapshot | undefined;
  /** The position of {@linkcode FactStorage.loadSnapshot}'s snapshot, without its state. */
  latestSnapshotPosition(): number | undefined;
  /** Removes every snapshot. */
  deleteSnapshots(): void | Promise<void>;
  /** Releases the storage; no other method is called afterwards. */
  close(): void | Promise<void>;
}
