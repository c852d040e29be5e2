/**
 * The pure fold every object's machine shares (domains, pools, networks): whether the machine
 * has a transition for an event now, and one fact applied with XState's pure `transition()`.
 * Replay and the live actors both fold facts through it, so a fact the machine cannot take is
 * one error with one wording whatever the object.
 *
 * @module
 */

import { type AnyStateMachine, transition } from "xstate";

/** What one machine's fold offers. */
export interface FactFold<Snapshot, Event> {
  /** Whether the machine has a transition for `event` now. */
  accepts(snapshot: Snapshot, event: Event): boolean;
  /**
   * One fact applied.
   *
   * @throws {Error} When the fact does not apply in the current state (the log and the machine
   *   disagree: a programming error).
   */
  apply(snapshot: Snapshot, fact: Event): Snapshot;
}

/**
 * The fold of `machine`, whose snapshots carry the object's uuid.
 *
 * @param machine An XState machine (typed loosely: XState's generic signatures are huge).
 * @param noun The object's word in the error: `domain`, `pool`, `network`.
 * @param stateName The snapshot's state as the error names it.
 *
 * @example
 * ```ts ignore
 * const fold = factFold<PoolSnapshot, StorageFact>(poolMachine, "pool", poolStateName);
 * const next = fold.apply(snapshot, fact);
 * ```
 */
export function factFold<
  Snapshot extends { context: { uuid: string } },
  Event extends { type: string },
>(
  machine: AnyStateMachine,
  noun: string,
  stateName: (snapshot: Snapshot) => string,
): FactFold<Snapshot, Event> {
  const lookup = machine as unknown as {
    getTransitionData(snapshot: Snapshot, event: Event): unknown[];
  };
  const accepts = (snapshot: Snapshot, event: Event) =>
    lookup.getTransitionData(snapshot, event).length > 0;
  return {
    accepts,
    apply(snapshot, fact) {
      if (!accepts(snapshot, fact)) {
        throw new Error(
          `Fact ${fact.type} does not apply to ${noun} ${snapshot.context.uuid} in state ${
            stateName(snapshot)
          }`,
        );
      }
      const [next] = transition(machine, snapshot as never, fact as never);
      return next as unknown as Snapshot;
    },
  };
}

/**
 * The body reader of one fact vocabulary: `bodyOf(event, type)` is the event's body as the
 * vocabulary types it, after checking the event is of that type (a machine action wired to the
 * wrong event is a programming error, thrown as a `TypeError`).
 *
 * @example
 * ```ts ignore
 * const bodyOf = factBodyReader<StorageFactBodies>();
 * const { definition } = bodyOf(event, "pool.defined");
 * ```
 */
export function factBodyReader<Bodies>(): <T extends keyof Bodies & string>(
  event: { type: string },
  type: T,
) => Bodies[T] {
  return (event, type) => {
    if (event.type !== type) throw new TypeError(`Expected ${type}, got ${event.type}`);
    return (event as unknown as { body: Bodies[typeof type] }).body;
  };
}
