/**
 * The behaviour every {@linkcode EventStore} must show, run against each store by its own test
 * file (`memory_store_test.ts`, `sqlite_store_test.ts`).
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  APPEND_PENDING_MAX,
  AppendQueueFullError,
  type EventStore,
  EventStoreArgumentError,
  EventStoreCorruptError,
  type EventStoreOptions,
  FACT_BODY_MAX_BYTES,
  FACTS_PER_APPEND_MAX,
  type JsonValue,
  type NewFact,
  PositionPrunedError,
  READ_BYTES_MAX,
  READ_LIMIT_MAX,
  StoreClosedError,
  STREAM_NAME_MAX_BYTES,
  VersionConflictError,
} from "../../../src/log/mod.ts";
import { ErrorCode, isVirtError } from "../../../src/model/errors.ts";

/** An open store and how to dispose of it (close and remove its files). */
export interface StoreFixture {
  store: EventStore;
  cleanup(): Promise<void>;
}

/** Opens a fresh, empty store with `options`. */
export type OpenStore = (options?: EventStoreOptions) => Promise<StoreFixture>;

/** A fact of type `Noted` whose body carries `n`. */
export function noted(n: number): NewFact {
  return { type: "Noted", body: { n } };
}

/** Collects `count` facts from an iterable, failing after `timeoutMs`. */
export async function take<T>(iterable: AsyncIterable<T>, count: number, timeoutMs = 5000) {
  const items: T[] = [];
  if (count === 0) return items;
  const deadline = AbortSignal.timeout(timeoutMs);
  const iterator = iterable[Symbol.asyncIterator]();
  try {
    while (items.length < count) {
      const next = await Promise.race([
        iterator.next(),
        new Promise<never>((_, reject) =>
          deadline.addEventListener("abort", () => reject(new Error("take() timed out")), {
            once: true,
          })
        ),
      ]);
      if (next.done) break;
      items.push(next.value);
    }
  } finally {
    await iterator.return?.();
  }
  return items;
}

/**
 * Registers the contract's tests, each named "`<label>.<method>() <behaviour>`".
 *
 * @param label The store's name in test names, e.g. `SqliteStore`.
 * @param open Opens a fresh store.
 */
export function runEventStoreContract(label: string, open: OpenStore): void {
  const test = (
    name: string,
    fn: (store: EventStore) => Promise<void>,
    options?: EventStoreOptions,
  ) =>
    Deno.test(`${label}.${name}`, async () => {
      const fixture = await open(options);
      try {
        await fn(fixture.store);
      } finally {
        await fixture.cleanup();
      }
    });

  registerAppendTests(test);
  registerInvalidInputTests(test);
  registerReadTests(test);
  registerUpcastTests(label, open, test);
  registerSubscribeTests(test);
  registerSnapshotTests(test);
  registerRetentionTests(label, open, test);
  registerCloseTests(label, open, test);
  registerFactTypeTests(test);
}

function registerFactTypeTests(test: Register): void {
  test(
    "append() with factTypes refuses another type, unless an upcaster knows it",
    async (store) => {
      await store.append("s", [{ type: "Made", body: 1 }, { type: "Old", body: 2 }], 0);
      assert.deepEqual((await store.readAll({ afterPosition: 0 })).map((fact) => fact.type), [
        "Made",
        "Old",
      ]);
      const refused = await store.append("s", [{ type: "Other", body: {} }], 2).catch((e) => e);
      assert.match(refused.message, /fact type 'Other' is not one this event log holds/);
      assert.equal(refused.where, "facts[0].type");
      assert.equal(store.headPosition(), 2);
    },
    { factTypes: ["Made"], upcasters: { Old: { 1: (body) => body } } },
  );
}

type Register = (
  name: string,
  fn: (store: EventStore) => Promise<void>,
  options?: EventStoreOptions,
) => void;

function registerAppendTests(test: Register): void {
  test("append() assigns gapless positions and per-stream versions", async (store) => {
    assert.equal(store.headPosition(), 0);
    assert.deepEqual(await store.append("a", [noted(1), noted(2)], 0), {
      firstPosition: 1,
      lastPosition: 2,
      streamVersion: 2,
    });
    assert.deepEqual(await store.append("b", [noted(3)], 0), {
      firstPosition: 3,
      lastPosition: 3,
      streamVersion: 1,
    });
    assert.deepEqual(await store.append("a", [noted(4)], 2), {
      firstPosition: 4,
      lastPosition: 4,
      streamVersion: 3,
    });
    const facts = await store.readAll({ afterPosition: 0 });
    assert.deepEqual(facts.map((fact) => [fact.position, fact.stream, fact.version]), [
      [1, "a", 1],
      [2, "a", 2],
      [3, "b", 1],
      [4, "a", 3],
    ]);
    assert.equal(store.headPosition(), 4);
    assert.equal(await store.streamVersion("a"), 3);
    assert.equal(await store.streamVersion("never"), 0);
  });

  test("append() refuses a stale expected version with VersionConflictError", async (store) => {
    await store.append("a", [noted(1)], 0);
    const error = await store.append("a", [noted(2)], 0).catch((error) => error);
    assert.ok(error instanceof VersionConflictError);
    assert.equal(error.code, ErrorCode.OPERATION_FAILED);
    assert.equal(error.stream, "a");
    assert.equal(error.expectedVersion, 0);
    assert.equal(error.actualVersion, 1);
    await assert.rejects(store.append("a", [noted(2)], 5), VersionConflictError);
    await assert.rejects(store.append("b", [noted(2)], 1), VersionConflictError);
    assert.equal(store.headPosition(), 1);
    assert.equal(await store.streamVersion("a"), 1);
  });

  test('append() with "any" appends whatever the version', async (store) => {
    await store.append("a", [noted(1)], "any");
    await store.append("a", [noted(2)], "any");
    assert.equal(await store.streamVersion("a"), 2);
  });

  test("append() lets exactly one of two racing writers win", async (store) => {
    const outcomes = await Promise.allSettled([
      store.append("a", [noted(1)], 0),
      store.append("a", [noted(2)], 0),
    ]);
    assert.equal(outcomes[0].status, "fulfilled");
    assert.equal(outcomes[1].status, "rejected");
    assert.ok((outcomes[1] as PromiseRejectedResult).reason instanceof VersionConflictError);
    assert.deepEqual((await store.readStream("a")).map((fact) => fact.body), [{ n: 1 }]);
  });

  test("append() gives concurrent writers distinct, contiguous positions", async (store) => {
    const writers = 20;
    const perWriter = 10;
    await Promise.all(
      Array.from({ length: writers }, async (_, writer) => {
        for (let index = 0; index < perWriter; index++) {
          await store.append(`w${writer}`, [noted(index)], index);
        }
      }),
    );
    const facts = await store.readAll({ afterPosition: 0 });
    assert.deepEqual(facts.map((fact) => fact.position), range(1, writers * perWriter));
    for (let writer = 0; writer < writers; writer++) {
      const stream = await store.readStream(`w${writer}`);
      assert.deepEqual(
        stream.map((fact) => fact.body),
        range(0, perWriter - 1).map((n) => ({ n })),
      );
    }
  });

  test("appendMany() appends to several streams atomically", async (store) => {
    await store.append("b", [noted(0)], 0);
    const results = await store.appendMany([
      { stream: "a", facts: [noted(1)], expectedVersion: 0 },
      { stream: "b", facts: [noted(2), noted(3)], expectedVersion: 1 },
      { stream: "a", facts: [noted(4)], expectedVersion: 1 },
    ]);
    assert.deepEqual(results, [
      { firstPosition: 2, lastPosition: 2, streamVersion: 1 },
      { firstPosition: 3, lastPosition: 4, streamVersion: 3 },
      { firstPosition: 5, lastPosition: 5, streamVersion: 2 },
    ]);
    assert.equal(store.headPosition(), 5);
  });

  test("appendMany() appends nothing when one request conflicts", async (store) => {
    await store.append("b", [noted(0)], 0);
    await assert.rejects(
      store.appendMany([
        { stream: "a", facts: [noted(1)], expectedVersion: 0 },
        { stream: "b", facts: [noted(2)], expectedVersion: 0 },
      ]),
      VersionConflictError,
    );
    assert.equal(store.headPosition(), 1);
    assert.equal(await store.streamVersion("a"), 0);
    // A conflicting call in a batch leaves the others of that batch alone.
    const [conflict, fine] = await Promise.allSettled([
      store.append("b", [noted(3)], 0),
      store.append("a", [noted(4)], 0),
    ]);
    assert.equal(conflict.status, "rejected");
    assert.equal(fine.status, "fulfilled");
    assert.equal(store.headPosition(), 2);
  });

  test("append() refuses more than APPEND_PENDING_MAX waiting appends", async (store) => {
    const calls = Array.from(
      { length: APPEND_PENDING_MAX + 1 },
      (_, index) => store.append("a", [noted(index)], "any"),
    );
    const outcomes = await Promise.allSettled(calls);
    const rejected = outcomes.filter((outcome) => outcome.status === "rejected");
    assert.equal(rejected.length, 1);
    const reason = (rejected[0] as PromiseRejectedResult).reason;
    assert.ok(reason instanceof AppendQueueFullError);
    assert.equal(reason.code, ErrorCode.RESOURCE_BUSY);
    assert.equal(store.headPosition(), APPEND_PENDING_MAX);
  });
}

function registerInvalidInputTests(test: Register): void {
  const cases: [string, () => [string, NewFact[], number | "any"], string][] = [
    ["an empty stream name", () => ["", [noted(1)], 0], "stream"],
    [
      "a too long stream name",
      () => ["s".repeat(STREAM_NAME_MAX_BYTES + 1), [noted(1)], 0],
      "stream",
    ],
    ["a stream name with a newline", () => ["a\nb", [noted(1)], 0], "stream"],
    ["no facts", () => ["a", [], 0], "facts"],
    [
      "too many facts",
      () => ["a", Array.from({ length: FACTS_PER_APPEND_MAX + 1 }, (_, n) => noted(n)), 0],
      "facts",
    ],
    ["an empty fact type", () => ["a", [{ type: "", body: 1 }], 0], "facts[0].type"],
    ["a fact type with a space", () => ["a", [{ type: "A B", body: 1 }], 0], "facts[0].type"],
    ["a NaN in a body", () => ["a", [{ type: "A", body: { x: NaN } }], 0], "facts[0].body.x"],
    [
      "undefined in a body",
      () => ["a", [{ type: "A", body: { x: undefined } as unknown as JsonValue }], 0],
      "facts[0].body.x",
    ],
    [
      "a Date in a body",
      () => ["a", [{ type: "A", body: [new Date(0)] as unknown as JsonValue }], 0],
      "facts[0].body[0]",
    ],
    [
      "a body larger than FACT_BODY_MAX_BYTES",
      () => ["a", [noted(0), { type: "A", body: "x".repeat(FACT_BODY_MAX_BYTES) }], 0],
      "facts[1].body",
    ],
    ["a negative expected version", () => ["a", [noted(1)], -1], "expectedVersion"],
    ["a fractional expected version", () => ["a", [noted(1)], 0.5], "expectedVersion"],
    [
      "a schema version newer than the current",
      () => ["a", [{ type: "A", body: 1, schemaVersion: 2 }], 0],
      "facts[0].schemaVersion",
    ],
    [
      "a schema version 0",
      () => ["a", [{ type: "A", body: 1, schemaVersion: 0 }], 0],
      "facts[0].schemaVersion",
    ],
  ];
  for (const [what, make, where] of cases) {
    test(`append() refuses ${what} and appends nothing`, async (store) => {
      const error = await store.append(...make()).catch((error) => error);
      assert.ok(error instanceof EventStoreArgumentError, String(error));
      assert.equal(error.code, ErrorCode.INVALID_ARG);
      assert.equal(error.where, where);
      assert.equal(store.headPosition(), 0);
      assert.deepEqual(await store.readAll({ afterPosition: 0 }), []);
    });
  }

  test("append() refuses a cyclic body", async (store) => {
    const body: Record<string, unknown> = {};
    body.self = body;
    await assert.rejects(
      store.append("a", [{ type: "A", body: body as JsonValue }], 0),
      EventStoreArgumentError,
    );
  });

  test("readAll() refuses a negative position and an out-of-range limit", async (store) => {
    for (
      const options of [{ afterPosition: -1 }, { afterPosition: 1.5 }, {
        afterPosition: 0,
        limit: 0,
      }, {
        afterPosition: 0,
        limit: READ_LIMIT_MAX + 1,
      }]
    ) {
      await assert.rejects(
        store.readAll(options),
        EventStoreArgumentError,
        JSON.stringify(options),
      );
    }
  });

  test("readStream() refuses version 0 and an invalid stream name", async (store) => {
    await assert.rejects(store.readStream("a", { fromVersion: 0 }), EventStoreArgumentError);
    await assert.rejects(store.readStream(""), EventStoreArgumentError);
  });
}

function registerReadTests(test: Register): void {
  test("readAll() returns facts strictly after a position, up to a limit", async (store) => {
    await store.append("a", [noted(1), noted(2), noted(3), noted(4)], 0);
    const page = await store.readAll({ afterPosition: 1, limit: 2 });
    assert.deepEqual(page.map((fact) => fact.position), [2, 3]);
    assert.deepEqual(await store.readAll({ afterPosition: 4 }), []);
    assert.deepEqual(await store.readAll({ afterPosition: 99 }), []);
  });

  test("readAll() stops a page early once bodies reach READ_BYTES_MAX", async (store) => {
    // Each body is exactly FACT_BODY_MAX_BYTES of JSON; a page holds those starting within
    // READ_BYTES_MAX of its first.
    const body = "x".repeat(FACT_BODY_MAX_BYTES - 2);
    const perPage = Math.ceil(READ_BYTES_MAX / FACT_BODY_MAX_BYTES);
    await store.append("big", range(1, perPage + 1).map(() => ({ type: "Big", body })), 0);
    const first = await store.readAll({ afterPosition: 0 });
    assert.deepEqual(first.map((fact) => fact.position), range(1, perPage));
    assert.equal(first[0].body, body);
    const second = await store.readAll({ afterPosition: perPage });
    assert.deepEqual(second.map((fact) => fact.position), [perPage + 1]);
    const stream = await store.readStream("big");
    assert.deepEqual(stream.map((fact) => fact.version), range(1, perPage));
  });

  test("readAll() returns every field of a fact", async (store) => {
    const before = Date.now();
    await store.append("a", [{ type: "DomainStarted", body: { reason: "booted", pid: 7 } }], 0);
    const [fact] = await store.readAll({ afterPosition: 0 });
    assert.equal(fact.position, 1);
    assert.equal(fact.stream, "a");
    assert.equal(fact.version, 1);
    assert.equal(fact.type, "DomainStarted");
    assert.equal(fact.schemaVersion, 1);
    assert.deepEqual(fact.body, { reason: "booted", pid: 7 });
    assert.ok(fact.timestampMs >= before && fact.timestampMs <= Date.now());
  });

  test("readStream() reads one stream from a version, up to a limit", async (store) => {
    await store.append("a", [noted(1), noted(2)], 0);
    await store.append("b", [noted(3)], 0);
    await store.append("a", [noted(4)], 2);
    const facts = await store.readStream("a", { fromVersion: 2, limit: 5 });
    assert.deepEqual(facts.map((fact) => [fact.version, fact.position]), [[2, 2], [3, 4]]);
    assert.deepEqual((await store.readStream("a", { limit: 1 })).map((fact) => fact.version), [1]);
    assert.deepEqual(await store.readStream("a", { fromVersion: 4 }), []);
    assert.deepEqual(await store.readStream("nothing"), []);
  });

  test("readAll() returns fresh bodies that callers may change", async (store) => {
    const body = { list: [1, 2] };
    await store.append("a", [{ type: "A", body }], 0);
    body.list.push(3);
    const [first] = await store.readAll({ afterPosition: 0 });
    (first.body as { list: number[] }).list.push(4);
    const [second] = await store.readAll({ afterPosition: 0 });
    assert.deepEqual(second.body, { list: [1, 2] });
  });

  test("append() round-trips unicode, nesting and JSON scalars", async (store) => {
    const bodies: JsonValue[] = [null, true, 0, -1.5, "", "é 日本 \u{1f600}", [[[]]], {
      "a b": { "": [null] },
    }];
    await store.append("a", bodies.map((body) => ({ type: "A", body })), 0);
    assert.deepEqual((await store.readStream("a")).map((fact) => fact.body), bodies);
  });

  test("append() stamps non-decreasing times from the clock", async (store) => {
    await store.append("a", [noted(1)], "any");
    await store.append("a", [noted(2)], "any");
    await store.append("a", [noted(3)], "any");
    const times = (await store.readAll({ afterPosition: 0 })).map((fact) => fact.timestampMs);
    // The clock below runs backwards; stored times must not.
    assert.deepEqual(times, [5000, 5000, 6000]);
  }, { now: clockOf([5000, 4000, 6000]) });
}

function registerUpcastTests(label: string, open: OpenStore, test: Register): void {
  const upcasters = {
    DomainStarted: {
      1: (body: JsonValue) => ({ ...(body as object), reason: "booted" }),
      2: (body: JsonValue) => {
        const { pid, ...rest } = body as { pid: number };
        return { ...rest, process: { pid } };
      },
    },
  };

  test("readStream() upgrades old schema versions through the upcaster chain", async (store) => {
    await store.append("a", [
      { type: "DomainStarted", body: { pid: 7 }, schemaVersion: 1 },
      { type: "DomainStarted", body: { pid: 8, reason: "restored" }, schemaVersion: 2 },
      { type: "DomainStarted", body: { reason: "x", process: { pid: 9 } } },
    ], 0);
    const facts = await store.readStream("a");
    assert.deepEqual(facts.map((fact) => fact.schemaVersion), [3, 3, 3]);
    assert.deepEqual(facts.map((fact) => fact.body), [
      { reason: "booted", process: { pid: 7 } },
      { reason: "restored", process: { pid: 8 } },
      { reason: "x", process: { pid: 9 } },
    ]);
  }, { upcasters });

  test("readAll() reports an upcaster that throws as EventStoreCorruptError", async (store) => {
    await store.append("a", [{ type: "A", body: 1, schemaVersion: 1 }], 0);
    const error = await store.readAll({ afterPosition: 0 }).catch((error) => error);
    assert.ok(error instanceof EventStoreCorruptError);
    assert.match(error.message, /cannot upgrade fact 1 of type 'A' from schema version 1/);
  }, {
    upcasters: {
      A: {
        1: () => {
          throw new Error("broken");
        },
      },
    },
  });

  Deno.test(`${label} refuses upcasters with a gap in their versions`, async () => {
    await assert.rejects(
      open({ upcasters: { A: { 2: (body: JsonValue) => body } } }),
      EventStoreArgumentError,
    );
  });
}

function registerSubscribeTests(test: Register): void {
  test("subscribe() catches up, then delivers new facts live", async (store) => {
    await store.append("a", [noted(1), noted(2), noted(3)], 0);
    const controller = new AbortController();
    const received = take(
      store.subscribe({ afterPosition: 1, signal: controller.signal, pageSize: 1 }),
      4,
    );
    await delay(20);
    await store.append("a", [noted(4), noted(5)], 3);
    const facts = await received;
    assert.deepEqual(facts.map((fact) => fact.position), [2, 3, 4, 5]);
    controller.abort();
  });

  test("subscribe() loses and repeats nothing while appends race its catch-up", async (store) => {
    const total = 600;
    await store.append("seed", [noted(0)], 0);
    let written = 1;
    const writer = (async () => {
      while (written < total) {
        const count = Math.min(7, total - written);
        await store.append("w", range(1, count).map(noted), "any");
        written += count;
      }
    })();
    const facts = await take(store.subscribe({ afterPosition: 0, pageSize: 13 }), total, 20_000);
    await writer;
    assert.deepEqual(facts.map((fact) => fact.position), range(1, total));
  });

  test("subscribe() ends when its signal aborts while waiting", async (store) => {
    const controller = new AbortController();
    const iterator = store.subscribe({ afterPosition: 0, signal: controller.signal })[
      Symbol.asyncIterator
    ]();
    const next = iterator.next();
    await delay(10);
    controller.abort();
    assert.deepEqual(await next, { done: true, value: undefined });
  });

  test("subscribe() with an aborted signal yields nothing", async (store) => {
    await store.append("a", [noted(1)], 0);
    const facts = await take(store.subscribe({ afterPosition: 0, signal: AbortSignal.abort() }), 1);
    assert.deepEqual(facts, []);
  });

  test("subscribe() refuses an invalid position or page size at once", async (store) => {
    await store.append("a", [noted(1)], 0);
    assert.throws(() => store.subscribe({ afterPosition: -1 }), EventStoreArgumentError);
    assert.throws(
      () => store.subscribe({ afterPosition: 0, pageSize: READ_LIMIT_MAX + 1 }),
      EventStoreArgumentError,
    );
  });
}

function registerSnapshotTests(test: Register): void {
  test("loadSnapshot() returns undefined before any snapshot", async (store) => {
    assert.equal(await store.loadSnapshot(), undefined);
  });

  test("saveSnapshot() keeps the snapshot with the highest position", async (store) => {
    await store.append("a", [noted(1), noted(2), noted(3)], 0);
    await store.saveSnapshot({ position: 2, state: { domains: ["a"] } });
    await store.saveSnapshot({ position: 1, state: "older" });
    assert.deepEqual(await store.loadSnapshot(), { position: 2, state: { domains: ["a"] } });
    await store.saveSnapshot({ position: 2, state: "newer" });
    assert.deepEqual(await store.loadSnapshot(), { position: 2, state: "newer" });
    await store.saveSnapshot({ position: 3, state: 3 });
    assert.deepEqual(await store.loadSnapshot(), { position: 3, state: 3 });
  });

  test("saveSnapshot() refuses a position beyond the head and a non-JSON state", async (store) => {
    await store.append("a", [noted(1)], 0);
    await assert.rejects(store.saveSnapshot({ position: 2, state: 1 }), EventStoreArgumentError);
    await assert.rejects(store.saveSnapshot({ position: -1, state: 1 }), EventStoreArgumentError);
    await assert.rejects(
      store.saveSnapshot({ position: 1, state: { f: () => 1 } as unknown as JsonValue }),
      EventStoreArgumentError,
    );
    assert.equal(await store.loadSnapshot(), undefined);
  });

  test("deleteSnapshots() removes every snapshot", async (store) => {
    await store.append("a", [noted(1)], 0);
    await store.saveSnapshot({ position: 1, state: 1 });
    await store.deleteSnapshots();
    assert.equal(await store.loadSnapshot(), undefined);
  });
}

function registerRetentionTests(label: string, open: OpenStore, test: Register): void {
  test("prune() removes nothing without a snapshot or a policy", async (store) => {
    await store.append("a", [noted(1), noted(2)], 0);
    assert.deepEqual(await store.prune({ keepMax: 0 }), { removed: 0, oldestPosition: 1 });
    await store.saveSnapshot({ position: 2, state: null });
    assert.deepEqual(await store.prune(), { removed: 0, oldestPosition: 1 });
    assert.deepEqual(await store.prune({}), { removed: 0, oldestPosition: 1 });
    assert.equal((await store.readAll({ afterPosition: 0 })).length, 2);
  });

  test("prune() keeps the newest keepMax facts, never above the snapshot", async (store) => {
    await store.append("a", range(1, 10).map(noted), 0);
    await store.saveSnapshot({ position: 6, state: "s" });
    assert.deepEqual(await store.prune({ keepMax: 2 }), { removed: 6, oldestPosition: 7 });
    assert.equal(store.oldestPosition(), 7);
    const facts = await store.readAll({ afterPosition: 6 });
    assert.deepEqual(facts.map((fact) => fact.position), [7, 8, 9, 10]);
    assert.deepEqual(await store.prune({ keepMax: 2 }), { removed: 0, oldestPosition: 7 });
  });

  test("prune() removes facts older than maxAgeMs", async (store) => {
    await store.append("a", [noted(1)], 0); // at 1000
    await store.append("a", [noted(2)], 1); // at 2000
    await store.append("a", [noted(3)], 2); // at 3000
    await store.saveSnapshot({ position: 3, state: null });
    // now() = 5000 at this call: facts before 5000 - 2500 = 2500 go.
    assert.deepEqual(await store.prune({ maxAgeMs: 2500 }), { removed: 2, oldestPosition: 3 });
  }, { now: clockOf([1000, 2000, 3000, 4000, 5000]) });

  test("readAll() below the oldest retained position throws PositionPrunedError", async (store) => {
    await store.append("a", range(1, 5).map(noted), 0);
    await store.saveSnapshot({ position: 3, state: null });
    await store.prune({ keepMax: 0 });
    const error = await store.readAll({ afterPosition: 1 }).catch((error) => error);
    assert.ok(error instanceof PositionPrunedError);
    assert.equal(error.code, ErrorCode.INVALID_ARG);
    assert.equal(error.oldestPosition, 4);
    assert.deepEqual((await store.readAll({ afterPosition: 3 })).map((fact) => fact.position), [
      4,
      5,
    ]);
    assert.throws(() => store.subscribe({ afterPosition: 0 }), PositionPrunedError);
  });

  test("readStream() from a pruned version throws PositionPrunedError", async (store) => {
    await store.append("a", [noted(1), noted(2)], 0);
    await store.append("b", [noted(3)], 0);
    await store.append("a", [noted(4)], 2);
    await store.saveSnapshot({ position: 3, state: null });
    await store.prune({ keepMax: 0 });
    await assert.rejects(store.readStream("a"), PositionPrunedError);
    await assert.rejects(store.readStream("b"), PositionPrunedError);
    assert.deepEqual(
      (await store.readStream("a", { fromVersion: 3 })).map((fact) => fact.position),
      [4],
    );
    // Versions survive pruning, so optimistic concurrency still holds.
    assert.equal(await store.streamVersion("b"), 1);
    await assert.rejects(store.append("b", [noted(5)], 0), VersionConflictError);
    assert.equal((await store.append("b", [noted(5)], 1)).streamVersion, 2);
  });

  test("deleteSnapshots() is refused once facts were pruned", async (store) => {
    await store.append("a", [noted(1), noted(2)], 0);
    await store.saveSnapshot({ position: 1, state: null });
    await store.prune({ keepMax: 0 });
    const error = await store.deleteSnapshots().catch((error) => error);
    assert.ok(isVirtError(error, ErrorCode.OPERATION_INVALID));
    assert.deepEqual(await store.loadSnapshot(), { position: 1, state: null });
  });

  test("saveSnapshot() applies the retention policy given at open", async (store) => {
    await store.append("a", range(1, 5).map(noted), 0);
    await store.saveSnapshot({ position: 4, state: null });
    assert.equal(store.oldestPosition(), 4);
    await assert.rejects(store.saveSnapshot({ position: 2, state: null }), EventStoreArgumentError);
  }, { retention: { keepMax: 2 } });

  Deno.test(`${label}.saveSnapshot() prunes nothing when retention is off`, async () => {
    const { store, cleanup } = await open();
    try {
      await store.append("a", range(1, 5).map(noted), 0);
      await store.saveSnapshot({ position: 5, state: null });
      assert.equal(store.oldestPosition(), 1);
    } finally {
      await cleanup();
    }
  });

  Deno.test(`${label} refuses an invalid retention policy at open`, async () => {
    await assert.rejects(open({ retention: { keepMax: -1 } }), EventStoreArgumentError);
  });
}

function registerCloseTests(label: string, open: OpenStore, test: Register): void {
  test("close() commits appends that were waiting", async (store) => {
    const pending = store.append("a", [noted(1)], 0);
    await store.close();
    assert.deepEqual(await pending, { firstPosition: 1, lastPosition: 1, streamVersion: 1 });
  });

  test("close() ends live subscriptions", async (store) => {
    const iterator = store.subscribe({ afterPosition: 0 })[Symbol.asyncIterator]();
    const next = iterator.next();
    await delay(10);
    await store.close();
    assert.deepEqual(await next, { done: true, value: undefined });
  });

  Deno.test(`${label} refuses every call after close()`, async () => {
    const { store, cleanup } = await open();
    await store.close();
    await store.close();
    try {
      await assert.rejects(store.append("a", [noted(1)], 0), StoreClosedError);
      await assert.rejects(store.readAll({ afterPosition: 0 }), StoreClosedError);
      await assert.rejects(store.readStream("a"), StoreClosedError);
      await assert.rejects(store.loadSnapshot(), StoreClosedError);
      await assert.rejects(store.prune(), StoreClosedError);
      assert.throws(() => store.headPosition(), StoreClosedError);
      assert.throws(() => store.subscribe({ afterPosition: 0 }), StoreClosedError);
    } finally {
      await cleanup();
    }
  });
}

/** A clock that returns `times` in order, then keeps returning the last one. */
export function clockOf(times: number[]): () => number {
  let index = 0;
  return () => times[Math.min(index++, times.length - 1)];
}

/** The integers from `first` to `last`, inclusive. */
export function range(first: number, last: number): number[] {
  return Array.from({ length: Math.max(0, last - first + 1) }, (_, index) => first + index);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
