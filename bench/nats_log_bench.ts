/**
 * Durable facts/s of the event log on NATS JetStream, beside the SQLite log of the same run: 1 and
 * 64 concurrent writers each awaiting its own append, on a single JetStream node and on a
 * 3-replica cluster of loopback nodes. Run as a script: `deno run -A bench/nats_log_bench.ts`
 * (`EVIRT_BENCH_APPEND_FACTS` changes the size). Needs `nats-server` (Debian).
 *
 * @module
 */

import { parsePositiveInteger } from "../src/config/config.ts";
import type { EventStore } from "../src/log/event_store.ts";
import { openNatsStore } from "../src/log/nats_store.ts";
import { jetStreamReady, startNatsCluster, startNatsServer } from "../tests/support/nats_server.ts";
import { measureAppends } from "./_appends.ts";
import { withSqliteStore } from "./_temp_store.ts";

const APPEND_FACTS_DEFAULT = 5_000;
const WRITERS_MANY = 64;
let opened = 0;

/** Runs `fn` on a fresh JetStream log (a host of its own) on `servers`, then closes it. */
async function withNatsStore<T>(
  servers: string,
  replicas: number,
  fn: (store: EventStore) => Promise<T>,
): Promise<T> {
  const store = await openNatsStore({ servers, host: `bench${opened++}`, replicas });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

function line(label: string, factsPerSecond: number, baseline: number): string {
  const figure = Math.round(factsPerSecond).toLocaleString("en-US").padStart(9);
  return `  ${label.padEnd(34)} ${figure} facts/s  (${
    (factsPerSecond / baseline).toFixed(2)
  }x SQLite)`;
}

async function main(): Promise<void> {
  const total = parsePositiveInteger(
    Deno.env.toObject(),
    "EVIRT_BENCH_APPEND_FACTS",
    APPEND_FACTS_DEFAULT,
  );
  const sqliteOne = await withSqliteStore((store) => measureAppends(store, 1, total));
  const sqliteMany = await withSqliteStore((store) => measureAppends(store, WRITERS_MANY, total));
  const single = await startNatsServer();
  let singleOne, singleMany;
  try {
    singleOne = await withNatsStore(single.url, 1, (store) => measureAppends(store, 1, total));
    singleMany = await withNatsStore(
      single.url,
      1,
      (store) => measureAppends(store, WRITERS_MANY, total),
    );
  } finally {
    await single.stop();
  }
  const cluster = await startNatsCluster(3);
  let clusterOne, clusterMany;
  try {
    await jetStreamReady(cluster.urls);
    clusterOne = await withNatsStore(cluster.urls, 3, (store) => measureAppends(store, 1, total));
    clusterMany = await withNatsStore(
      cluster.urls,
      3,
      (store) => measureAppends(store, WRITERS_MANY, total),
    );
  } finally {
    await cluster.stop();
  }
  console.log(`durable appends, ${total.toLocaleString("en-US")} facts each (same run):`);
  for (
    const [writers, sqlite, node, r3] of [
      [1, sqliteOne, singleOne, clusterOne],
      [WRITERS_MANY, sqliteMany, singleMany, clusterMany],
    ] as const
  ) {
    console.log(
      line(`${writers} writer(s), SQLite (baseline)`, sqlite.factsPerSecond, sqlite.factsPerSecond),
    );
    console.log(
      line(`${writers} writer(s), JetStream 1 node`, node.factsPerSecond, sqlite.factsPerSecond),
    );
    console.log(
      line(`${writers} writer(s), JetStream R3 cluster`, r3.factsPerSecond, sqlite.factsPerSecond),
    );
  }
}

if (import.meta.main) await main();
