/**
 * Snapshots of the host's state, so recovery folds only the facts after the latest one.
 *
 * A snapshot is taken only over a gapless prefix of the log: facts of different domains are
 * applied in whatever order their actors finish, so the keeper counts what was applied since the
 * recovered position and saves only when that count fills every position up to the newest one.
 *
 * @module
 */

import type { EventStore } from "../src/log/event_store.ts";
import type { AppliedFact } from "./domain_actor.ts";
import {
  type DomainContext,
  domainMachine,
  type DomainSnapshot,
  keepCompact,
  statePath,
} from "./domain_machine.ts";
import type { DomainRegistry } from "./domain_registry.ts";
import type { DomainDefinition } from "../src/model/domain.ts";
import {
  definitionFromStored,
  type StoredCompactDefinition,
  storedDefinition,
} from "../src/model/compact_definition.ts";

/** Facts appended between two automatic snapshots. */
export const SNAPSHOT_EVERY_FACTS_DEFAULT = 50_000;

/**
 * Version of the snapshot state's JSON form. 2: a compact definition is stored with its deflated
 * parts as they are (src/model/compact_definition.ts), so saving a snapshot inflates nothing and
 * holds no plain copy of every definition at once. 3: a large object part may be stored split
 * (`[key, null, null, parts]`), which a reader of format 2 would take for a plain `null`; so a
 * service of format 2 refuses a format 3 snapshot instead. 1 (plain definitions) and 2 are still
 * read.
 */
export const SNAPSHOT_FORMAT = 3;

/** Snapshot formats {@linkcode restoreSnapshot} reads. */
const SNAPSHOT_FORMATS_READ: readonly number[] = [1, 2, SNAPSHOT_FORMAT];

/** A definition as a snapshot stores it. */
type StoredDefinitionValue = DomainDefinition | StoredCompactDefinition;

/** A domain's context as a snapshot stores it: its definitions in their stored form. */
export type StoredDomainContext = Omit<DomainContext, "definition" | "live"> & {
  definition: StoredDefinitionValue | null;
  live: StoredDefinitionValue | null;
};

/** The snapshot's state: the id counter and every domain's machine state, context and version. */
export interface SnapshotState {
  format: number;
  nextId: number;
  domains: { uuid: string; version: number; state: string; context: StoredDomainContext }[];
}

/** Options of {@linkcode SnapshotKeeper}. */
export interface SnapshotKeeperOptions {
  store: EventStore;
  registry: DomainRegistry;
  /** Facts between automatic snapshots; 0 disables them. */
  everyFacts: number;
  /** Runs a background job the host waits for at close. */
  track: (job: Promise<unknown>) => void;
  /** Where a failed automatic snapshot is reported. */
  log: (message: string) => void;
}

/**
 * Decides when to take snapshots and takes them.
 *
 * @example
 * ```ts ignore
 * const keeper = new SnapshotKeeper({ store, registry, everyFacts: 50_000, track, log });
 * keeper.recovered(headPosition, snapshotPosition);
 * keeper.applied(facts); // after each batch; saves in the background when due
 * ```
 */
export class SnapshotKeeper {
  readonly #options: SnapshotKeeperOptions;
  #baselinePosition = 0;
  #appliedSinceBaseline = 0;
  #maxAppliedPosition = 0;
  #factsSinceSnapshot = 0;
  #pending = false;

  constructor(options: SnapshotKeeperOptions) {
    this.#options = options;
  }

  /** Facts applied since the last snapshot. */
  get factsSinceSnapshot(): number {
    return this.#factsSinceSnapshot;
  }

  /** Sets the baseline after recovery: everything up to `position` is applied. */
  recovered(position: number, snapshotPosition: number): void {
    this.#baselinePosition = position;
    this.#maxAppliedPosition = position;
    this.#appliedSinceBaseline = 0;
    this.#factsSinceSnapshot = position - snapshotPosition;
  }

  /** Counts a batch of applied facts and schedules a snapshot when one is due. */
  applied(applied: readonly AppliedFact[]): void {
    for (const { position } of applied) {
      this.#appliedSinceBaseline++;
      if (position > this.#maxAppliedPosition) this.#maxAppliedPosition = position;
    }
    this.#factsSinceSnapshot += applied.length;
    const { everyFacts, track, log } = this.#options;
    if (everyFacts <= 0 || this.#factsSinceSnapshot < everyFacts || this.#pending) return;
    this.#pending = true;
    track(
      new Promise((resolve) => setTimeout(resolve, 0)).then(() => this.save()).catch(
        (error) => log(`snapshot failed: ${(error as Error).message}`),
      ).finally(() => this.#pending = false),
    );
  }

  /** Saves a snapshot now if the applied facts form a gapless prefix of the log. */
  async save(): Promise<boolean> {
    const position = this.#maxAppliedPosition;
    const gapless = position - this.#baselinePosition === this.#appliedSinceBaseline;
    if (!gapless) return false;
    const state = snapshotStateOf(this.#options.registry);
    await this.#options.store.saveSnapshot({ position, state: state as never });
    this.#factsSinceSnapshot = 0;
    return true;
  }
}

/** The registry's state as a snapshot records it. */
export function snapshotStateOf(registry: DomainRegistry): SnapshotState {
  const domains = registry.actors().map((actor) => ({
    uuid: actor.uuid,
    // Held facts are not in the log yet: the snapshot records only what is.
    version: actor.version,
    state: statePath(actor.durableSnapshot),
    context: storedContext(actor.durableSnapshot.context),
  }));
  return { format: SNAPSHOT_FORMAT, nextId: registry.nextId, domains };
}

/**
 * Rebuilds the registry's actors and indexes from a snapshot's state.
 *
 * @throws {Error} When the snapshot's format is unknown (a newer service wrote it).
 */
export function restoreSnapshot(registry: DomainRegistry, state: SnapshotState): void {
  if (!SNAPSHOT_FORMATS_READ.includes(state.format)) {
    throw new Error(`Unknown snapshot format ${state.format}`);
  }
  for (const domain of state.domains) {
    const { definition, live } = domain.context;
    const context: DomainContext = {
      ...domain.context,
      definition: definition === null ? null : definitionFromStored(definition),
      live: live === null ? null : definitionFromStored(live),
    };
    keepCompact(context);
    const snapshot: DomainSnapshot = domainMachine.resolveState({
      value: stateValueOf(domain.state),
      context,
    });
    registry.indexRestored(registry.add(domain.uuid, snapshot, domain.version));
  }
  registry.raiseNextId(state.nextId);
}

/** A context as a snapshot stores it (a compact definition stays deflated). */
function storedContext(context: DomainContext): StoredDomainContext {
  const { definition, live } = context;
  return {
    ...context,
    definition: definition === null ? null : storedDefinition(definition),
    live: live === null ? null : storedDefinition(live),
  };
}

/** `active.running` → `{ active: "running" }`; `shutoff` stays as it is. */
function stateValueOf(path: string): string | Record<string, string> {
  const [parent, child] = path.split(".");
  return child === undefined ? parent : { [parent]: child };
}
