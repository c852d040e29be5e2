/**
 * Recovery of the host's state from the log: the latest snapshot is restored, then the facts
 * after it are folded, page by page, into their domains' actors with XState's pure
 * `transition()`. Nothing here talks to a driver; reconciling with reality comes after.
 *
 * @module
 */

import type { EventStore } from "../src/log/event_store.ts";
import { type DomainFact, isDomainFactType, uuidOfStream } from "../src/model/facts.ts";
import type { DomainRegistry } from "./domain_registry.ts";
import { restoreSnapshot, type SnapshotState } from "./host_snapshots.ts";

/** Facts read per page during recovery. */
export const RECOVERY_PAGE_FACTS = 10_000;

/** Where recovery ended. */
export interface RecoveredPosition {
  /** The last position folded (the log's head at recovery). */
  position: number;
  /** The position of the snapshot recovery started from; 0 without one. */
  snapshotPosition: number;
}

/**
 * Restores the registry from the latest snapshot and folds every later domain fact.
 *
 * @example
 * ```ts ignore
 * const { position, snapshotPosition } = await recoverFromLog(store, registry);
 * ```
 */
export async function recoverFromLog(
  store: EventStore,
  registry: DomainRegistry,
): Promise<RecoveredPosition> {
  const snapshot = await store.loadSnapshot();
  let position = 0;
  if (snapshot !== undefined) {
    position = snapshot.position;
    restoreSnapshot(registry, snapshot.state as unknown as SnapshotState);
  }
  // Bounded by the log's head: each page moves `position` forward or ends the loop.
  for (;;) {
    const facts = await store.readAll({ afterPosition: position, limit: RECOVERY_PAGE_FACTS });
    if (facts.length === 0) break;
    for (const stored of facts) {
      position = stored.position;
      const uuid = uuidOfStream(stored.stream);
      if (uuid === undefined || !isDomainFactType(stored.type)) continue;
      const actor = registry.actorFor(uuid);
      const fact = { type: stored.type, body: stored.body } as DomainFact;
      actor.replay(fact, stored.version);
      registry.index(actor, fact);
    }
  }
  return { position, snapshotPosition: snapshot?.position ?? 0 };
}
