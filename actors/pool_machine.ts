/**
 * A storage pool's life as an XState v5 machine: libvirt's pool states (inactive, building,
 * running, degraded, inaccessible), its definition, autostart flag, volumes and pending intent,
 * folded from the pool's facts.
 *
 * The machine is pure and its events are the facts of the log: the same `transition()` folds the
 * log at recovery and applies each new fact live, so replay equals the live fold. All I/O lives
 * in the pool actor's job runner.
 *
 * @module
 */

import { assign, initialTransition, setup } from "xstate";
import { factBodyReader, factFold } from "./fact_fold.ts";
import {
  type StorageFact,
  type StorageFactBodies,
  type StorageFactType,
  type StorageIntentKind,
  type VolumeJobKind,
  type VolumeRecord,
} from "../src/model/storage_facts.ts";
import { type PoolDefinition, PoolState, type PoolStateValue } from "../src/model/storage_pool.ts";

/** A pending intent: its kind and the fact body that declared it. */
export type PoolIntent =
  | { kind: "build"; body: StorageFactBodies["pool.building"] }
  | { kind: "start"; body: StorageFactBodies["pool.starting"] }
  | { kind: "stop"; body: StorageFactBodies["pool.stopping"] }
  | { kind: "delete"; body: StorageFactBodies["pool.deleting"] }
  | { kind: "create"; body: StorageFactBodies["volume.creating"] }
  | { kind: "remove"; body: StorageFactBodies["volume.deleting"] }
  | { kind: "resize"; body: StorageFactBodies["volume.resizing"] }
  | { kind: "wipe"; body: StorageFactBodies["volume.wiping"] };

/** A volume job whose intent is recorded and whose end is not (recovery finishes it). */
export interface PoolVolumeJob {
  job: VolumeJobKind;
  body: StorageFactBodies["volume.job_started"];
}

/** Whether a job makes its volume (a create or clone): until it ends the volume is not counted. */
export function jobMakesVolume(kind: VolumeJobKind): boolean {
  return kind === "create" || kind === "clone";
}

/** What the machine knows about one pool. Plain JSON. */
export interface PoolContext {
  /** The pool's uuid, fixed for its life. */
  uuid: string;
  /** Its definition; null before it is defined. */
  definition: PoolDefinition | null;
  /** A definition recorded while the pool ran, in force once it stops (libvirt's newDef). */
  nextDefinition: PoolDefinition | null;
  /** Whether it has a persistent definition (false: made by `pool-create`). */
  persistent: boolean;
  /** Whether it starts with the service. */
  autostart: boolean;
  /** Its volumes by name (known while it runs). */
  volumes: Record<string, VolumeRecord>;
  /** What was about to happen when last recorded; null when nothing is pending. */
  intent: PoolIntent | null;
  /** The volume jobs under way, by volume name (they run beside the queue's intent). */
  jobs: Record<string, PoolVolumeJob>;
  /** Why a running pool became inaccessible or degraded. */
  inaccessibleReason: string | null;
}

const INTENT_OF: Partial<Record<StorageFactType, StorageIntentKind>> = {
  "pool.building": "build",
  "pool.starting": "start",
  "pool.stopping": "stop",
  "pool.deleting": "delete",
  "volume.creating": "create",
  "volume.deleting": "remove",
  "volume.resizing": "resize",
  "volume.wiping": "wipe",
};

const bodyOf = factBodyReader<StorageFactBodies>();

/**
 * The pool machine. Input: the pool's uuid.
 *
 * @example
 * ```ts ignore
 * let [snapshot] = initialTransition(poolMachine, { uuid });
 * [snapshot] = transition(poolMachine, snapshot, { type: "pool.defined", body: { definition, detail: "added" } });
 * ```
 */
export const poolMachine = setup({
  types: {
    context: {} as PoolContext,
    events: {} as StorageFact,
    input: {} as { uuid: string },
  },
  actions: {
    recordDefinition: assign(({ event }) => ({
      definition: bodyOf(event, "pool.defined").definition,
      persistent: bodyOf(event, "pool.defined").persistent,
      nextDefinition: null,
    })),
    recordNextDefinition: assign(({ event, context }) => ({
      nextDefinition: bodyOf(event, "pool.defined").definition,
      persistent: context.persistent || bodyOf(event, "pool.defined").persistent,
    })),
    forget: assign({ definition: null, nextDefinition: null, autostart: false, volumes: {} }),
    recordIntent: assign(({ event }) => {
      const kind = INTENT_OF[event.type];
      if (kind === undefined) throw new Error(`${event.type} is not an intent`);
      return { intent: { kind, body: event.body } as PoolIntent };
    }),
    forgetIntent: assign({ intent: null }),
    recordStopped: assign(({ context }) => ({
      definition: context.nextDefinition ?? context.definition,
      nextDefinition: null,
      volumes: {},
      intent: null,
      jobs: {},
      inaccessibleReason: null,
    })),
    recordRefresh: assign(({ event, context }) => {
      const body = bodyOf(event, "pool.refreshed");
      if ("volumes" in body) {
        return {
          volumes: Object.fromEntries(body.volumes.map((volume) => [volume.name, volume])),
          inaccessibleReason: null,
        };
      }
      // Only the changes: the known set is patched (copied once per fact, not per volume); an
      // empty change keeps the very object, which tells the scanner nothing changed.
      if (body.changed.length === 0 && body.removed.length === 0) {
        return { inaccessibleReason: null };
      }
      const volumes = { ...context.volumes };
      for (const name of body.removed) delete volumes[name];
      for (const volume of body.changed) volumes[volume.name] = volume;
      return { volumes, inaccessibleReason: null };
    }),
    recordInaccessible: assign(({ event }) => ({
      inaccessibleReason: bodyOf(event, "pool.inaccessible").reason,
      volumes: {},
    })),
    recordDegraded: assign(({ event }) => ({
      inaccessibleReason: bodyOf(event, "pool.degraded").reason,
    })),
    recordAutostart: assign(({ event }) => ({
      autostart: bodyOf(event, "pool.autostart_changed").autostart,
    })),
    recordVolume: assign(({ event, context }) => {
      const { volume } = bodyOf(event, "volume.created");
      // A job's volume ends its job; a create from the queue ends the queue's intent.
      if (context.jobs[volume.name] !== undefined) {
        return {
          volumes: { ...context.volumes, [volume.name]: volume },
          jobs: withoutJob(context.jobs, volume.name),
        };
      }
      return { volumes: { ...context.volumes, [volume.name]: volume }, intent: null };
    }),
    recordJob: assign(({ event, context }) => {
      const body = bodyOf(event, "volume.job_started");
      return { jobs: { ...context.jobs, [body.name]: { job: body.job, body } } };
    }),
    forgetJob: assign(({ event, context }) => ({
      jobs: withoutJob(context.jobs, bodyOf(event, "volume.job_ended").name),
    })),
    removeVolume: assign(({ event, context }) => {
      const { name } = bodyOf(event, "volume.deleted");
      const volumes = { ...context.volumes };
      delete volumes[name];
      return { volumes, intent: null };
    }),
    resizeVolume: assign(({ event, context }) => {
      const { name, capacityBytes, allocationBytes } = bodyOf(event, "volume.resized");
      const volume = context.volumes[name];
      if (volume === undefined) return { intent: null };
      return {
        volumes: { ...context.volumes, [name]: { ...volume, capacityBytes, allocationBytes } },
        intent: null,
      };
    }),
    wipeVolume: assign(({ event, context }) => {
      const { name, allocationBytes } = bodyOf(event, "volume.wiped");
      const volume = context.volumes[name];
      const ended = context.jobs[name] === undefined
        ? { intent: null }
        : { jobs: withoutJob(context.jobs, name) };
      if (volume === undefined) return ended;
      return {
        volumes: { ...context.volumes, [name]: { ...volume, allocationBytes } },
        ...ended,
      };
    }),
  },
}).createMachine({
  id: "pool",
  context: ({ input }) => ({
    uuid: input.uuid,
    definition: null,
    nextDefinition: null,
    persistent: false,
    autostart: false,
    volumes: {},
    intent: null,
    jobs: {},
    inaccessibleReason: null,
  }),
  initial: "nonexistent",
  states: {
    nonexistent: {
      on: { "pool.defined": { target: "inactive", actions: "recordDefinition" } },
    },
    inactive: {
      on: {
        "pool.defined": { actions: "recordDefinition" },
        "pool.undefined": { target: "nonexistent", actions: "forget" },
        "pool.building": { target: "building", actions: "recordIntent" },
        "pool.starting": { actions: "recordIntent" },
        "pool.started": { target: "running", actions: "forgetIntent" },
        "pool.deleting": { actions: "recordIntent" },
        "pool.deleted": { actions: "forgetIntent" },
        "pool.autostart_changed": { actions: "recordAutostart" },
        "storage.intent_abandoned": { actions: "forgetIntent" },
      },
    },
    building: {
      on: {
        "pool.built": { target: "inactive", actions: "forgetIntent" },
        "storage.intent_abandoned": { target: "inactive", actions: "forgetIntent" },
      },
    },
    running: { on: activeTransitions() },
    degraded: { on: activeTransitions() },
    inaccessible: { on: activeTransitions() },
  },
});

/** What an active pool (running, degraded or inaccessible) accepts. */
function activeTransitions() {
  return {
    "pool.defined": { actions: "recordNextDefinition" as const },
    "pool.stopping": { actions: "recordIntent" as const },
    "pool.stopped": { target: "#pool.inactive", actions: "recordStopped" as const },
    "pool.refreshed": { target: "#pool.running", actions: "recordRefresh" as const },
    "pool.inaccessible": { target: "#pool.inaccessible", actions: "recordInaccessible" as const },
    "pool.degraded": { target: "#pool.degraded", actions: "recordDegraded" as const },
    "pool.autostart_changed": { actions: "recordAutostart" as const },
    "volume.creating": { actions: "recordIntent" as const },
    "volume.created": { actions: "recordVolume" as const },
    "volume.deleting": { actions: "recordIntent" as const },
    "volume.deleted": { actions: "removeVolume" as const },
    "volume.resizing": { actions: "recordIntent" as const },
    "volume.resized": { actions: "resizeVolume" as const },
    "volume.wiping": { actions: "recordIntent" as const },
    "volume.wiped": { actions: "wipeVolume" as const },
    "volume.job_started": { actions: "recordJob" as const },
    "volume.job_ended": { actions: "forgetJob" as const },
    "storage.intent_abandoned": { actions: "forgetIntent" as const },
  };
}

function withoutJob(
  jobs: Record<string, PoolVolumeJob>,
  name: string,
): Record<string, PoolVolumeJob> {
  const rest = { ...jobs };
  delete rest[name];
  return rest;
}

/** A pool's machine snapshot. */
export type PoolSnapshot = ReturnType<typeof poolMachine.getInitialSnapshot>;

/** The machine's state name (`inactive`, `running`, …). */
export function poolStateName(snapshot: PoolSnapshot): string {
  return snapshot.value as string;
}

const STATE_NUMBERS: Readonly<Record<string, PoolStateValue>> = {
  nonexistent: PoolState.INACTIVE,
  inactive: PoolState.INACTIVE,
  building: PoolState.BUILDING,
  running: PoolState.RUNNING,
  degraded: PoolState.DEGRADED,
  inaccessible: PoolState.INACCESSIBLE,
};

/** libvirt's state number (virStoragePoolState) of a snapshot. */
export function poolStateOf(snapshot: PoolSnapshot): PoolStateValue {
  return STATE_NUMBERS[poolStateName(snapshot)];
}

/** Whether the pool is active (running, degraded or inaccessible). */
export function isPoolActive(snapshot: PoolSnapshot): boolean {
  const name = poolStateName(snapshot);
  return name === "running" || name === "degraded" || name === "inaccessible";
}

/** A fresh snapshot of a pool that does not exist yet. */
export function newPoolSnapshot(uuid: string): PoolSnapshot {
  const [snapshot] = initialTransition(poolMachine, { uuid });
  return snapshot;
}

const poolFold = factFold<PoolSnapshot, StorageFact>(poolMachine, "pool", poolStateName);

/** Whether the machine has a transition for `fact` now. */
export const poolAccepts: (snapshot: PoolSnapshot, fact: StorageFact) => boolean = poolFold.accepts;

/**
 * Applies one fact with XState's pure `transition()`.
 *
 * @throws {Error} When the fact does not apply in the current state (a programming error).
 */
export const applyPoolFact: (snapshot: PoolSnapshot, fact: StorageFact) => PoolSnapshot =
  poolFold.apply;
