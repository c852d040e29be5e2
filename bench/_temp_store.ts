/**
 * A SQLite event log in a temporary folder for one benchmark run, removed afterwards.
 *
 * @module
 */

import type { EventStore } from "../src/log/event_store.ts";
import { openSqliteStore } from "../src/log/sqlite_store.ts";

/** Runs `fn` on a fresh SQLite store, then closes it and removes its folder. */
export async function withSqliteStore<T>(fn: (store: EventStore) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "evirt-bench-" });
  const store = await openSqliteStore(dir);
  try {
    return await fn(store);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
}
