/**
 * Event log throughput on this machine, each figure beside its simplest same-run baseline.
 *
 * As a script (`deno run -A bench/log_bench.ts`) it prints durable facts/s for 1 writer (the
 * baseline) and for 64 concurrent writers (goal ≥ 20,000/s), each awaiting its own append; the
 * longest event-loop stall while they ran; the 64 writers again while 16 subscribers follow the
 * log live; and the time to read 1,000,000 facts with `readAll`
 * in pages (the base of recovery), beside the in-memory store reading the same facts; and the
 * time to open that log again, which checks it whole, beside that readAll.
 * `EVIRT_BENCH_APPEND_FACTS` and `EVIRT_BENCH_READ_FACTS` change the sizes.
 *
 * Under `deno bench` it registers smaller versions of the same comparisons, with the single
 * writer as the baseline of its group.
 *
 * @module
 */

import { type AppendFigures, lifecycleFact, measureAppends } from "./_appends.ts";
import { withSqliteStore } from "./_temp_store.ts";
import { parsePositiveInteger } from "../src/config/config.ts";
import type { EventStore } from "../src/log/event_store.ts";
import { createMemoryStore } from "../src/log/memory_store.ts";
import { openSqliteStore } from "../src/log/sqlite_store.ts";

/** Facts each append benchmark writes, unless `EVIRT_BENCH_APPEND_FACTS` says otherwise. */
const APPEND_FACTS_DEFAULT = 20_000;
/** Facts the read benchmark reads, unless `EVIRT_BENCH_READ_FACTS` says otherwise. */
const READ_FACTS_DEFAULT = 1_000_000;
/** Facts per `readAll` page while reading everything, as recovery does. */
const READ_PAGE_FACTS = 10_000;
/** Facts per append while filling the store for the read benchmark. */
const FILL_FACTS_PER_APPEND = 1000;
/** The concurrency the goal is stated for. */
const WRITERS_MANY = 64;
/** Live subscribers in the followed-append figure (SSE clients, say). */
const SUBSCRIBERS = 16;
/** Durable facts/s the 64-writer figure must reach. */
const GOAL_FACTS_PER_SECOND = 20_000;

/** Runs {@linkcode measureAppends} while `subscribers` follow the log live from position 0. */
async function measureAppendsFollowed(
  store: EventStore,
  writers: number,
  total: number,
  subscribers: number,
): Promise<AppendFigures> {
  const controller = new AbortController();
  const following = Array.from({ length: subscribers }, async () => {
    for await (const _ of store.subscribe({ afterPosition: 0, signal: controller.signal })) {
      // Delivery is the work measured.
    }
  });
  try {
    return await measureAppends(store, writers, total);
  } finally {
    controller.abort();
    await Promise.all(following);
  }
}

/** Fills `store` with `total` facts in large appends. */
async function fill(store: EventStore, total: number): Promise<void> {
  for (let written = 0; written < total; written += FILL_FACTS_PER_APPEND) {
    const count = Math.min(FILL_FACTS_PER_APPEND, total - written);
    const facts = Array.from({ length: count }, (_, index) => lifecycleFact(written + index));
    await store.append(`fill/${written % 97}`, facts, "any");
  }
}

/** Reads every fact with `readAll` in pages; returns the elapsed ms. */
async function measureReadAll(store: EventStore, pageFacts: number): Promise<number> {
  const started = performance.now();
  let after = store.oldestPosition() - 1;
  let count = 0;
  while (after < store.headPosition()) {
    const page = await store.readAll({ afterPosition: after, limit: pageFacts });
    count += page.length;
    after = page[page.length - 1].position;
  }
  const elapsedMs = performance.now() - started;
  if (count !== store.headPosition()) throw new Error(`Read ${count} facts, expected more`);
  return elapsedMs;
}

function format(value: number): string {
  return Math.round(value).toLocaleString("en-US");
}

async function main(): Promise<void> {
  const env = Deno.env.toObject();
  const appendFacts = parsePositiveInteger(env, "EVIRT_BENCH_APPEND_FACTS", APPEND_FACTS_DEFAULT);
  const readFacts = parsePositiveInteger(env, "EVIRT_BENCH_READ_FACTS", READ_FACTS_DEFAULT);

  const one = await withSqliteStore((store) => measureAppends(store, 1, appendFacts));
  const many = await withSqliteStore((store) => measureAppends(store, WRITERS_MANY, appendFacts));
  const followed = await withSqliteStore((store) =>
    measureAppendsFollowed(store, WRITERS_MANY, appendFacts, SUBSCRIBERS)
  );
  console.log(
    `durable appends (SQLite, WAL, synchronous=FULL), ${format(appendFacts)} facts each:`,
  );
  console.log(
    `  1 writer   ${format(one.factsPerSecond).padStart(9)} facts/s  (baseline)` +
      `  longest event-loop stall ${one.stallMsMax.toFixed(1)} ms`,
  );
  const ratio = many.factsPerSecond / one.factsPerSecond;
  const verdict = many.factsPerSecond >= GOAL_FACTS_PER_SECOND ? "meets" : "MISSES";
  console.log(
    `  ${WRITERS_MANY} writers ${format(many.factsPerSecond).padStart(9)} facts/s  ` +
      `(${ratio.toFixed(1)}x baseline; ${verdict} the goal of ${format(GOAL_FACTS_PER_SECOND)})` +
      `  longest event-loop stall ${many.stallMsMax.toFixed(1)} ms`,
  );
  console.log(
    `  ${WRITERS_MANY} writers ${format(followed.factsPerSecond).padStart(9)} facts/s  ` +
      `while ${SUBSCRIBERS} subscribers follow live` +
      ` (${(followed.factsPerSecond / one.factsPerSecond).toFixed(1)}x baseline)`,
  );

  const memoryStore = createMemoryStore();
  await fill(memoryStore, readFacts);
  const memoryMs = await measureReadAll(memoryStore, READ_PAGE_FACTS);
  await memoryStore.close();
  const sqlite = await withSqliteStore(async (store) => {
    const fillStarted = performance.now();
    await fill(store, readFacts);
    const fillMs = performance.now() - fillStarted;
    return { fillMs, readMs: await measureReadAll(store, READ_PAGE_FACTS) };
  });
  console.log(`readAll of ${format(readFacts)} facts in pages of ${format(READ_PAGE_FACTS)}:`);
  console.log(
    `  in-memory  ${format(memoryMs).padStart(7)} ms  ${
      format(readFacts / (memoryMs / 1000)).padStart(10)
    } facts/s  (baseline)`,
  );
  console.log(
    `  SQLite     ${format(sqlite.readMs).padStart(7)} ms  ${
      format(readFacts / (sqlite.readMs / 1000)).padStart(10)
    } facts/s  (${(sqlite.readMs / memoryMs).toFixed(1)}x baseline time)`,
  );
  console.log(
    `  (filling SQLite with 1,000-fact appends took ${format(sqlite.fillMs)} ms, ` +
      `${format(readFacts / (sqlite.fillMs / 1000))} facts/s)`,
  );
  const openMs = await measureOpen(readFacts);
  console.log(
    `  opening it  ${format(openMs).padStart(6)} ms  (start-up's whole-log check: every ` +
      `checksum, position and stream version; ${
        (openMs / sqlite.readMs).toFixed(1)
      }x the SQLite readAll)`,
  );
}

/** Fills a log with `total` facts, closes it, and times opening it again (which checks it whole). */
async function measureOpen(total: number): Promise<number> {
  const dir = await Deno.makeTempDir({ prefix: "evirt-bench-open-" });
  try {
    const filled = await openSqliteStore(dir);
    await fill(filled, total);
    await filled.close();
    const started = performance.now();
    const opened = await openSqliteStore(dir);
    const elapsedMs = performance.now() - started;
    if (opened.headPosition() !== total) throw new Error("The reopened log lost facts");
    await opened.close();
    return elapsedMs;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  await main();
} else {
  const benchFacts = 2048;
  Deno.bench({
    name: `append ${benchFacts} facts, 1 writer`,
    group: "durable append",
    baseline: true,
    n: 3,
    warmup: 1,
    async fn() {
      await withSqliteStore((store) => measureAppends(store, 1, benchFacts));
    },
  });
  Deno.bench({
    name: `append ${benchFacts} facts, ${WRITERS_MANY} writers`,
    group: "durable append",
    n: 3,
    warmup: 1,
    async fn() {
      await withSqliteStore((store) => measureAppends(store, WRITERS_MANY, benchFacts));
    },
  });
  Deno.bench({
    name: "readAll 100,000 facts, SQLite",
    group: "readAll",
    n: 3,
    warmup: 1,
    async fn(context) {
      await withSqliteStore(async (store) => {
        await fill(store, 100_000);
        context.start();
        await measureReadAll(store, READ_PAGE_FACTS);
        context.end();
      });
    },
  });
  Deno.bench({
    name: "readAll 100,000 facts, in-memory",
    group: "readAll",
    baseline: true,
    n: 3,
    warmup: 1,
    async fn(context) {
      const store = createMemoryStore();
      await fill(store, 100_000);
      context.start();
      await measureReadAll(store, READ_PAGE_FACTS);
      context.end();
      await store.close();
    },
  });
}
