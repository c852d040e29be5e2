/**
 * An {@linkcode EventStore} kept in memory, for unit tests: the same behaviour as the SQLite
 * store (the same contract suite runs against both), without a file or durability.
 *
 * @module
 */

import type { EventStore, EventStoreOptions } from "./event_store.ts";
import {
  type AppendedFact,
  type FactStorage,
  type StorageHead,
  type StoredFact,
  storedFact,
  type StoredSnapshot,
} from "./fact_storage.ts";
import { LogStore } from "./log_store.ts";

/**
 * Opens an empty in-memory event store.
 *
 * @param options Upcasters, retention and clock.
 * @returns The store; `close()` it when done, like any store.
 * @throws {EventStoreArgumentError} When an option is invalid.
 *
 * @example Appending and reading back
 * ```ts
 * import { createMemoryStore } from "./memory_store.ts";
 * const store = createMemoryStore();
 * await store.append("domain/web", [{ type: "DomainDefined", body: { name: "web" } }], 0);
 * console.log((await store.readAll({ afterPosition: 0 }))[0].body); // { name: "web" }
 * await store.close();
 * ```
 */
export function createMemoryStore(options: EventStoreOptions = {}): EventStore {
  return new LogStore(new MemoryStorage(), options);
}

/**
 * A {@linkcode FactStorage} in memory: facts in an array indexed by position - oldest, and each
 * stream as an array of its facts. Exported for tests of {@linkcode LogStore} that wrap it.
 *
 * @example
 * ```ts
 * import { MemoryStorage } from "./memory_store.ts";
 * console.log(new MemoryStorage().head()); // { headPosition: 0, oldestPosition: 1, lastTimestampMs: 0 }
 * ```
 */
export class MemoryStorage implements FactStorage {
  #facts: StoredFact[] = [];
  #oldest: number;
  #streams = new Map<string, { version: number; facts: StoredFact[] }>();
  #snapshots: StoredSnapshot[] = [];

  /**
   * @param oldestPosition Where the log starts: 1, or past facts retention removed elsewhere.
   * @param streamVersions Versions of streams whose facts lie before `oldestPosition`.
   */
  constructor(oldestPosition = 1, streamVersions: Iterable<[string, number]> = []) {
    this.#oldest = oldestPosition;
    for (const [name, version] of streamVersions) this.#streams.set(name, { version, facts: [] });
  }

  head(): StorageHead {
    const last = this.#facts.at(-1);
    return {
      headPosition: this.#oldest - 1 + this.#facts.length,
      oldestPosition: this.#oldest,
      lastTimestampMs: last?.timestampMs ?? 0,
    };
  }

  streamVersion(stream: string): number {
    return this.#streams.get(stream)?.version ?? 0;
  }

  /** Every stream's version. */
  streamVersions(): Map<string, number> {
    return new Map([...this.#streams].map(([name, stream]) => [name, stream.version]));
  }

  commit(facts: readonly AppendedFact[], streamVersions: ReadonlyMap<string, number>): void {
    const head = this.#oldest - 1 + this.#facts.length;
    if (facts[0]?.position !== head + 1) throw new Error(`Commit does not start at ${head + 1}`);
    for (const fact of facts) {
      this.#facts.push({ ...storedFact(fact) });
      let stream = this.#streams.get(fact.stream);
      if (stream === undefined) {
        stream = { version: 0, facts: [] };
        this.#streams.set(fact.stream, stream);
      }
      stream.facts.push(this.#facts[this.#facts.length - 1]);
    }
    for (const [name, version] of streamVersions) this.#streams.get(name)!.version = version;
  }

  readAll(afterPosition: number, limit: number, maxBytes: number): StoredFact[] {
    const start = Math.max(0, afterPosition - this.#oldest + 1);
    return takeBounded(this.#facts, start, limit, maxBytes);
  }

  readStream(stream: string, fromVersion: number, limit: number, maxBytes: number): StoredFact[] {
    const facts = this.#streams.get(stream)?.facts ?? [];
    const first = facts[0]?.version ?? 1;
    return takeBounded(facts, Math.max(0, fromVersion - first), limit, maxBytes);
  }

  firstPositionAtOrAfter(timestampMs: number): number | undefined {
    return this.#facts.find((fact) => fact.timestampMs >= timestampMs)?.position;
  }

  removeThrough(position: number): number {
    const count = Math.max(0, position - this.#oldest + 1);
    this.#facts.splice(0, count);
    this.#oldest = position + 1;
    for (const stream of this.#streams.values()) {
      const keep = stream.facts.findIndex((fact) => fact.position > position);
      stream.facts.splice(0, keep === -1 ? stream.facts.length : keep);
    }
    return count;
  }

  saveSnapshot(snapshot: StoredSnapshot, keepMax: number): void {
    this.#snapshots.push({ ...snapshot });
    // Stable sort: among equal positions the later save stays last, i.e. newest.
    this.#snapshots.sort((a, b) => a.position - b.position);
    this.#snapshots.splice(0, Math.max(0, this.#snapshots.length - keepMax));
  }

  loadSnapshot(): StoredSnapshot | undefined {
    const last = this.#snapshots.at(-1);
    return last === undefined ? undefined : { ...last };
  }

  latestSnapshotPosition(): number | undefined {
    return this.#snapshots.at(-1)?.position;
  }

  deleteSnapshots(): void {
    this.#snapshots = [];
  }

  close(): void {
    this.#facts = [];
    this.#streams.clear();
    this.#snapshots = [];
  }
}

function takeBounded(
  facts: readonly StoredFact[],
  start: number,
  limit: number,
  maxBytes: number,
): StoredFact[] {
  const taken: StoredFact[] = [];
  let bytes = 0;
  for (let index = start; index < facts.length && taken.length < limit; index++) {
    if (bytes >= maxBytes) break;
    taken.push({ ...facts[index] });
    bytes += facts[index].bodyJson.length;
  }
  return taken;
}
