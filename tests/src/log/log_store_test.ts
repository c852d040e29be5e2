import assert from "node:assert/strict";
import {
  COMMIT_FACTS_MAX,
  EventStoreCorruptError,
  EventStoreWriteError,
  FACTS_PER_APPEND_MAX,
} from "../../../src/log/mod.ts";
import type { AppendedFact } from "../../../src/log/fact_storage.ts";
import { LogStore, RECENT_BODY_CHARS_MAX, RECENT_FACTS_MAX } from "../../../src/log/log_store.ts";
import { MemoryStorage } from "../../../src/log/memory_store.ts";
import { factChecksum } from "../../../src/log/fact_checksum.ts";
import { prepareJsonText, rememberJsonText } from "../../../src/log/json_text.ts";
import { prepareCompactJson, valueOfCompactJson } from "../../../src/log/compact_json.ts";
import {
  isJsonTextReleased,
  type JsonPieces,
  releaseJsonText,
} from "../../../src/log/json_pieces.ts";
import { openSqliteStore } from "../../../src/log/sqlite_store.ts";
import { testDefinition } from "../../support/domains.ts";
import { withTempDir } from "../../support/temp_dir.ts";
import { ErrorCode } from "../../../src/model/errors.ts";
import { noted, range } from "./event_store_contract.ts";

/** A memory storage that records the size of each commit and can be made to fail. */
class RecordingStorage extends MemoryStorage {
  commits: number[] = [];
  failNext = false;
  override commit(facts: readonly AppendedFact[], versions: ReadonlyMap<string, number>): void {
    if (this.failNext) throw new Error("disk I/O error");
    this.commits.push(facts.length);
    super.commit(facts, versions);
  }
}

/**
 * Appends `facts` through a first store and leaves it (closing it would empty the memory storage),
 * so a second store over `storage` reads them from the storage, not from its facts kept in memory.
 */
async function appendThenReopen(
  storage: MemoryStorage,
  facts: Parameters<LogStore["append"]>[1],
): Promise<void> {
  await new LogStore(storage).append("a", facts, 0);
}

Deno.test("LogStore.append() shares one commit among appends made in the same turn", async () => {
  const storage = new RecordingStorage();
  const store = new LogStore(storage);
  try {
    await Promise.all(range(1, 64).map((n) => store.append(`s${n}`, [noted(n)], 0)));
    assert.deepEqual(storage.commits, [64]);
  } finally {
    await store.close();
  }
});

Deno.test("LogStore.append() lets writers woken by a commit share the next one", async () => {
  const storage = new RecordingStorage();
  const store = new LogStore(storage);
  try {
    await Promise.all(
      range(1, 32).map(async (n) => {
        for (let round = 0; round < 5; round++) await store.append(`s${n}`, [noted(round)], round);
      }),
    );
    assert.deepEqual(storage.commits, [32, 32, 32, 32, 32]);
  } finally {
    await store.close();
  }
});

Deno.test("LogStore.append() splits a long queue into commits of at most COMMIT_FACTS_MAX", async () => {
  const storage = new RecordingStorage();
  const store = new LogStore(storage);
  try {
    const calls = Math.ceil((COMMIT_FACTS_MAX + 1) / FACTS_PER_APPEND_MAX);
    const facts = range(1, FACTS_PER_APPEND_MAX).map(noted);
    await Promise.all(range(1, calls).map((n) => store.append(`s${n}`, facts, 0)));
    assert.ok(storage.commits.length >= 2);
    assert.ok(storage.commits.every((size) => size <= COMMIT_FACTS_MAX));
    assert.equal(
      storage.commits.reduce((sum, size) => sum + size, 0),
      calls * FACTS_PER_APPEND_MAX,
    );
  } finally {
    await store.close();
  }
});

Deno.test("LogStore.append() fails only the commit's appends after a passing write error", async () => {
  const storage = new RecordingStorage();
  const store = new LogStore(storage);
  try {
    await store.append("a", [noted(1)], 0);
    storage.failNext = true;
    const error = await store.append("a", [noted(2)], 1).catch((error) => error);
    assert.ok(error instanceof EventStoreWriteError);
    assert.equal(error.code, ErrorCode.SYSTEM_ERROR);
    assert.equal(
      error.message,
      "cannot write the event log: an I/O error on the log file (disk I/O error)",
    );
    assert.equal(error.failure.retryable, true);
    assert.equal(store.headPosition(), 1);
    storage.failNext = false;
    const result = await store.append("a", [noted(2)], 1);
    assert.deepEqual(result, { firstPosition: 2, lastPosition: 2, streamVersion: 2 });
    assert.deepEqual((await store.readAll({ afterPosition: 0 })).map((fact) => fact.body), [
      { n: 1 },
      { n: 2 },
    ]);
  } finally {
    await store.close();
  }
});

Deno.test("LogStore.append() refuses every later append once the log is found damaged", async () => {
  const storage = new RecordingStorage();
  const store = new LogStore(storage);
  const original = storage.commit.bind(storage);
  try {
    await store.append("a", [noted(1)], 0);
    storage.commit = () => {
      throw new Error("database disk image is malformed");
    };
    const first = await store.append("a", [noted(2)], 1).catch((error) => error);
    assert.ok(first instanceof EventStoreWriteError);
    assert.equal(first.failure.kind, "damaged");
    assert.match(first.message, /further writes are refused until the service is restarted$/);
    storage.commit = original;
    await assert.rejects(store.append("a", [noted(2)], 1), EventStoreWriteError);
    assert.equal(store.headPosition(), 1);
  } finally {
    await store.close();
  }
});

Deno.test("LogStore.readAll() reports a gap in stored positions as EventStoreCorruptError", async () => {
  const storage = new MemoryStorage();
  await appendThenReopen(storage, [noted(1), noted(2), noted(3)]);
  const store = new LogStore(storage);
  try {
    const original = storage.readAll.bind(storage);
    storage.readAll = (after, limit, maxBytes) =>
      original(after, limit, maxBytes).filter((fact) => fact.position !== 2);
    await assert.rejects(store.readAll({ afterPosition: 0 }), EventStoreCorruptError);
  } finally {
    await store.close();
  }
});

Deno.test("LogStore refuses a storage whose oldest position lies beyond its head", () => {
  const storage = new MemoryStorage();
  storage.head = () => ({ headPosition: 3, oldestPosition: 9, lastTimestampMs: 0 });
  assert.throws(() => new LogStore(storage), EventStoreCorruptError);
});

Deno.test("LogStore.readAll() reports a storage failure as SYSTEM_ERROR", async () => {
  const storage = new MemoryStorage();
  await appendThenReopen(storage, [noted(1)]);
  const store = new LogStore(storage);
  try {
    storage.readAll = () => {
      throw new Error("disk I/O error");
    };
    const error = await store.readAll({ afterPosition: 0 }).catch((error) => error);
    assert.equal(error.code, ErrorCode.SYSTEM_ERROR);
    assert.equal(error.message, "cannot read the event log: disk I/O error");
  } finally {
    await store.close();
  }
});

Deno.test("LogStore.append() fails the batch when reading a stream version fails", async () => {
  const storage = new MemoryStorage();
  const store = new LogStore(storage);
  try {
    storage.streamVersion = () => {
      throw new Error("disk I/O error");
    };
    const outcomes = await Promise.allSettled([
      store.append("a", [noted(1)], 0),
      store.append("b", [noted(2)], 0),
    ]);
    for (const outcome of outcomes) {
      assert.equal(outcome.status, "rejected");
      assert.ok((outcome as PromiseRejectedResult).reason instanceof EventStoreWriteError);
    }
    assert.equal(store.headPosition(), 0);
  } finally {
    await store.close();
  }
});

Deno.test("LogStore serves the newest facts from memory: fresh bodies, or shared ones on request", async () => {
  const storage = new MemoryStorage();
  const store = new LogStore(storage);
  try {
    const body = { list: [1, 2] };
    await store.append("a", [{ type: "A", body }], 0);
    storage.readAll = () => {
      throw new Error("the storage was read");
    };
    const [fresh] = await store.readAll({ afterPosition: 0 });
    assert.deepEqual(fresh.body, body);
    assert.notEqual(fresh.body, body);
    const stop = new AbortController();
    for await (
      const fact of store.subscribe({ afterPosition: 0, sharedBodies: true, signal: stop.signal })
    ) {
      assert.equal(fact.body, body);
      stop.abort();
    }
  } finally {
    await store.close();
  }
});

Deno.test("LogStore keeps at most RECENT_FACTS_MAX facts in memory and reads older ones from the storage", async () => {
  const storage = new MemoryStorage();
  const store = new LogStore(storage);
  try {
    const count = RECENT_FACTS_MAX + 10;
    await store.append("a", range(1, count).map(noted), 0);
    const reads: number[] = [];
    const original = storage.readAll.bind(storage);
    storage.readAll = (after, limit, maxBytes) => {
      reads.push(after);
      return original(after, limit, maxBytes);
    };
    assert.equal((await store.readAll({ afterPosition: 10, limit: 5 })).length, 5);
    assert.deepEqual(reads, []);
    const older = await store.readAll({ afterPosition: 9, limit: 5 });
    assert.deepEqual(older.map((fact) => fact.position), [10, 11, 12, 13, 14]);
    assert.deepEqual(reads, [9]);
  } finally {
    await store.close();
  }
});

Deno.test("LogStore keeps at most RECENT_BODY_CHARS_MAX of body text in memory", async () => {
  const storage = new MemoryStorage();
  const store = new LogStore(storage);
  try {
    const quarter = { type: "A", body: "x".repeat(RECENT_BODY_CHARS_MAX / 4 - 16) };
    await store.append("a", [quarter, quarter, quarter, quarter], 0);
    await store.append("a", [quarter], 4);
    let reads = 0;
    const original = storage.readAll.bind(storage);
    storage.readAll = (after, limit, maxBytes) => {
      reads++;
      return original(after, limit, maxBytes);
    };
    await store.readAll({ afterPosition: 1 });
    assert.equal(reads, 0);
    await store.readAll({ afterPosition: 0 });
    assert.equal(reads, 1);
  } finally {
    await store.close();
  }
});

Deno.test("LogStore stores a body composed around a remembered text with the checksum of its text", async () => {
  const storage = new MemoryStorage();
  const store = new LogStore(storage);
  try {
    const definition = { name: "vé", devices: { disks: [{ target: "vda" }] } };
    rememberJsonText(definition, prepareJsonText(definition, "definition", 1 << 20));
    const body = { definition, detail: "added" };
    await store.append("domain/x", [{ type: "domain.defined", body }], 0);
    const [row] = storage.readAll(0, 10, 1 << 20);
    assert.equal(row.bodyJson, JSON.stringify(body));
    assert.equal(row.checksum, factChecksum(row));
  } finally {
    await store.close();
  }
});

const largeDefinition = { ...testDefinition("shared"), description: "dé".repeat(100_000) };

/** A definition as the reader thread hands it over: its text in UTF-8 pieces, remembered. */
function sentDefinition(): { definition: never; text: JsonPieces } {
  const made = prepareCompactJson(largeDefinition, "definition", 1 << 22);
  assert.equal(typeof made.json.text, "object");
  return { definition: valueOfCompactJson(made) as never, text: made.json.text as JsonPieces };
}

Deno.test("LogStore stores a body spliced around a text in UTF-8 pieces as the same row, in every storage", async () => {
  const plainBody = { definition: largeDefinition, detail: "added" };
  const expectRow = (row: { bodyJson: string; checksum: number }, body: unknown = plainBody) => {
    assert.equal(row.bodyJson, JSON.stringify(body));
    assert.equal(row.checksum, factChecksum(row as never));
  };
  const memory = new MemoryStorage();
  const inMemory = new LogStore(memory);
  const first = sentDefinition();
  await inMemory.append("domain/x", [{
    type: "domain.defined",
    body: { definition: first.definition, detail: "added" },
  }], 0);
  expectRow(memory.readAll(0, 10, 1 << 22)[0]);
  // Kept in the window of newest facts, which gives the body parsed afresh from it.
  assert.equal(isJsonTextReleased(first.text), false);
  const [fresh] = await inMemory.readAll({ afterPosition: 0 });
  assert.equal(JSON.stringify(fresh.body), JSON.stringify(plainBody));
  await inMemory.close();
  for (const commitThread of [true, false]) {
    await withTempDir("evirt-log-", async (dir) => {
      const store = await openSqliteStore(dir, { commitThread });
      try {
        const spliced = sentDefinition();
        await store.append("domain/x", [{
          type: "domain.defined",
          body: { definition: spliced.definition, detail: "added" },
        }], 0);
        // Moved to the commit thread, which freed it; on the main loop's commit, kept.
        assert.equal(isJsonTextReleased(spliced.text), commitThread);
        // The definition itself as the body: its one piece is bound as it is.
        const whole = sentDefinition();
        await store.append("domain/x", [{ type: "domain.updated", body: whole.definition }], 1);
        assert.equal(isJsonTextReleased(whole.text), commitThread);
        await store.append("domain/x", [{ type: "noted", body: { n: 1 } }], 2);
        // A moved body is read afresh from the storage.
        const kept = await store.readAll({ afterPosition: 0, limit: 2 });
        assert.equal(JSON.stringify(kept[0].body), JSON.stringify(plainBody));
        assert.equal(JSON.stringify(kept[1].body), JSON.stringify(largeDefinition));
      } finally {
        await store.close();
      }
      // Read back from the file: the text, its checksum (checked on read) and the offsets by
      // which reads are bounded.
      const reopened = await openSqliteStore(dir);
      try {
        const facts = await reopened.readAll({ afterPosition: 0 });
        assert.deepEqual(facts.map((fact) => fact.type), [
          "domain.defined",
          "domain.updated",
          "noted",
        ]);
        assert.equal(
          JSON.stringify(facts[0].body),
          JSON.stringify(plainBody),
          `thread ${commitThread}`,
        );
        assert.equal(JSON.stringify(facts[1].body), JSON.stringify(largeDefinition));
        assert.equal((await reopened.readStream("domain/x", { fromVersion: 3 })).length, 1);
      } finally {
        await reopened.close();
      }
    });
  }
});

Deno.test("LogStore appends a body again after a failed commit freed its text: the same row", async () => {
  /** Frees the bodies it is given, as the commit thread does, and fails the first commit. */
  class FreeingStorage extends MemoryStorage {
    failed = false;
    override commit(facts: readonly AppendedFact[], versions: ReadonlyMap<string, number>): void {
      if (!this.failed) {
        this.failed = true;
        for (const fact of facts) releaseJsonText(fact.bodyJson);
        throw new Error("disk I/O error");
      }
      super.commit(facts, versions);
    }
  }
  const storage = new FreeingStorage();
  const store = new LogStore(storage);
  try {
    const sent = sentDefinition();
    const body = { definition: sent.definition, detail: "added" };
    await assert.rejects(store.append("domain/x", [{ type: "domain.defined", body }], 0));
    assert.ok(isJsonTextReleased(sent.text));
    // The held fact's retry: the same body, encoded again from the definition.
    await store.append("domain/x", [{ type: "domain.defined", body }], 0);
    const [row] = storage.readAll(0, 10, 1 << 22);
    assert.equal(row.bodyJson, JSON.stringify({ definition: largeDefinition, detail: "added" }));
    assert.equal(row.checksum, factChecksum(row));
  } finally {
    await store.close();
  }
});
