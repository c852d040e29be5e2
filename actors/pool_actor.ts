/**
 * One storage pool's actor: the stream actor (`stream_actor.ts`: snapshot, stream version,
 * bounded job queue, code 87 "pool 'x' is busy with <job> since <time>") folding the pool's
 * facts with the pool machine.
 *
 * @module
 */

import type { EventStore } from "../src/log/event_store.ts";
import type { PoolDefinition } from "../src/model/storage_pool.ts";
import { poolStream, type StorageFact } from "../src/model/storage_facts.ts";
import { applyPoolFact, newPoolSnapshot, type PoolSnapshot } from "./pool_machine.ts";
import {
  type AppliedFact,
  STREAM_QUEUE_MAX,
  STREAM_QUEUE_TIMEOUT_MS_DEFAULT,
  StreamActor,
  type StreamKind,
} from "./stream_actor.ts";

/** Most jobs waiting in one pool's queue. */
export const POOL_QUEUE_MAX = STREAM_QUEUE_MAX;

/** How long a caller waits behind a busy pool by default, in ms. */
export const POOL_QUEUE_TIMEOUT_MS_DEFAULT = STREAM_QUEUE_TIMEOUT_MS_DEFAULT;

/** A fact as it was applied: the fact and its global position in the log. */
export type AppliedStorageFact = AppliedFact<StorageFact>;

/** How a pool's facts fold. */
const POOL_KIND: StreamKind<PoolSnapshot, StorageFact> = {
  label: "pool",
  stream: poolStream,
  initial: newPoolSnapshot,
  apply: applyPoolFact,
  nameOf: (snapshot) => snapshot.context.definition?.name,
};

/**
 * A pool actor.
 *
 * @example
 * ```ts ignore
 * const actor = new PoolActor(uuid, store, onApplied);
 * await actor.run("start", async () => { await actor.append([{ type: "pool.started", body: {} }]); });
 * ```
 */
export class PoolActor extends StreamActor<PoolSnapshot, StorageFact> {
  /**
   * @param uuid The pool's uuid.
   * @param store The log.
   * @param onApplied Told of every fact once it is durable and applied (events, projections).
   */
  constructor(
    uuid: string,
    store: EventStore,
    onApplied: (facts: AppliedStorageFact[]) => void = () => {},
  ) {
    super(uuid, store, POOL_KIND, onApplied);
  }
}

/** A pool's definition (every existing pool has one). */
export function definitionOf(actor: PoolActor): PoolDefinition {
  const definition = actor.snapshot.context.definition;
  if (definition === null) throw new Error(`Pool ${actor.uuid} has no definition`);
  return definition;
}
