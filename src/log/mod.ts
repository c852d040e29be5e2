/**
 * evirt's durable event log: the {@linkcode EventStore} contract, its typed errors and its
 * stores — {@linkcode openSqliteStore} (the embedded default) and {@linkcode createMemoryStore}
 * (unit tests).
 *
 * @example Opening the embedded store
 * ```ts ignore
 * import { openSqliteStore } from "./mod.ts";
 * const store = await openSqliteStore("/var/lib/evirt");
 * ```
 *
 * @module
 */

export * from "./event_store.ts";
export * from "./errors.ts";
export { createMemoryStore } from "./memory_store.ts";
export {
  DATABASE_FILE,
  openSqliteStore,
  type SqliteEventStore,
  type SqliteSettings,
} from "./sqlite_store.ts";
export { STATE_LOCK_FILE } from "./state_lock.ts";
export { classifyWriteFailure, type WriteFailure, type WriteFailureKind } from "./write_failure.ts";
