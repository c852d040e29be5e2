/**
 * evirt's durable event log: the {@linkcode EventStore} contract, its typed errors and its stores.
 *
 * @example Importing the contract
 * ```ts ignore
 * import type { EventStore, Fact } from "./mod.ts";
 * ```
 *
 * @module
 */

export * from "./event_store.ts";
export * from "./errors.ts";
