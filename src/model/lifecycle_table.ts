/**
 * The one translation of evirt's lifecycle vocabulary, as tables beside reference §2 and §3:
 *
 * - driver observation → fact: {@linkcode OBSERVATION_FACTS} ({@linkcode factOfObservation});
 * - fact → libvirt state and reason after it: {@linkcode FACT_TABLE}`.state` (the domain machine
 *   takes its reasons from here);
 * - fact → libvirt event (id, lifecycle type and detail, data): {@linkcode FACT_TABLE}`.event`
 *   (the event stream's messages come from here).
 *
 * A driver translates its own protocol into observations (QMP events in
 * `drivers/qemu/event_translation.ts`); nothing after that restates the vocabulary. Which fact
 * may follow which is the domain machine's (`actors/domain_machine.ts`), tested row by row
 * against reference §3 together with this table.
 *
 * @module
 */

import type { DomainFact, DomainFactBodies, DomainFactType, SuspendedDetail } from "./facts.ts";
import {
  CrashedReason,
  DomainState,
  type DomainStateValue,
  EVENT_IDS,
  EventId,
  IO_ERROR_ACTIONS,
  LIFECYCLE_DETAIL_NAMES,
  LIFECYCLE_TYPE_NAMES,
  LifecycleDetail,
  LifecycleType,
  METADATA_KINDS,
  PausedReason,
  RunningReason,
  ShutdownReason,
  ShutoffReason,
  WATCHDOG_ACTIONS,
} from "./lifecycle.ts";
import type { Observation, ObservationKind } from "./observation.ts";
import { BLOCK_JOB_STATUSES, BLOCK_JOB_TYPES, type BlockJobType } from "./block_jobs.ts";

/** The libvirt event a fact is: its event id, and for lifecycle events the type and detail. */
export interface LibvirtEvent {
  /** The event id (0 lifecycle, 1 reboot, …). */
  eventId: number;
  /** virsh's name of the event id, e.g. `lifecycle`. */
  event: string;
  /** For lifecycle events: the type number and name. */
  lifecycle?: { type: number; typeName: string; detail: number; detailName: string };
  /** Event-specific data (e.g. `actual` for balloon-change). */
  data?: Record<string, string | number>;
}

/** A libvirt state and the reason within it (reference §1). */
export interface StateAndReason {
  /** The `virDomainState` value. */
  state: DomainStateValue;
  /** The reason value within that state. */
  reason: number;
}

/** What one fact type means to libvirt. */
export interface FactRow<T extends DomainFactType> {
  /**
   * The state and reason the domain is in after the fact; absent for facts that leave the state
   * as it is (a definition, a note) or whose outcome depends on the state before (the machine
   * decides those: a first definition is shut off (unknown)).
   */
  state?: (body: DomainFactBodies[T]) => StateAndReason | undefined;
  /** The libvirt event the fact is; absent for bookkeeping facts libvirt has no event for. */
  event?: (body: DomainFactBodies[T]) => LibvirtEvent;
}

const RUNNING_REASONS: Record<DomainFactBodies["domain.started"]["reason"], number> = {
  booted: RunningReason.BOOTED,
  unpaused: RunningReason.UNPAUSED,
  restored: RunningReason.RESTORED,
  wakeup: RunningReason.WAKEUP,
  save_canceled: RunningReason.SAVE_CANCELED,
  from_snapshot: RunningReason.FROM_SNAPSHOT,
  migrated: RunningReason.MIGRATED,
  migration_canceled: RunningReason.MIGRATION_CANCELED,
  unknown: RunningReason.UNKNOWN,
};

const PAUSED_REASONS: Record<DomainFactBodies["domain.suspended"]["reason"], number> = {
  user: PausedReason.USER,
  ioerror: PausedReason.IOERROR,
  watchdog: PausedReason.WATCHDOG,
  migration: PausedReason.MIGRATION,
  save: PausedReason.SAVE,
  snapshot: PausedReason.SNAPSHOT,
  from_snapshot: PausedReason.FROM_SNAPSHOT,
  shutting_down: PausedReason.SHUTTING_DOWN,
  crashed: PausedReason.CRASHED,
  starting_up: PausedReason.STARTING_UP,
  unknown: PausedReason.UNKNOWN,
};

const SHUTOFF_REASONS: Record<DomainFactBodies["domain.stopped"]["reason"], number> = {
  shutdown: ShutoffReason.SHUTDOWN,
  destroyed: ShutoffReason.DESTROYED,
  crashed: ShutoffReason.CRASHED,
  saved: ShutoffReason.SAVED,
  failed: ShutoffReason.FAILED,
  migrated: ShutoffReason.MIGRATED,
  daemon: ShutoffReason.DAEMON,
  from_snapshot: ShutoffReason.FROM_SNAPSHOT,
  unknown: ShutoffReason.UNKNOWN,
};

/** The SUSPENDED detail of each paused reason (reference §2: migration is "migrated"). */
const SUSPENDED_DETAILS: Record<DomainFactBodies["domain.suspended"]["reason"], SuspendedDetail> = {
  user: "paused",
  ioerror: "ioerror",
  watchdog: "watchdog",
  migration: "migrated",
  save: "paused",
  snapshot: "paused",
  from_snapshot: "from_snapshot",
  shutting_down: "paused",
  crashed: "paused",
  starting_up: "paused",
  unknown: "paused",
};

function lifecycle(typeKey: keyof typeof LifecycleType, detailName: string): LibvirtEvent {
  const type = LifecycleType[typeKey];
  const details: Record<string, number> = LifecycleDetail[typeKey];
  const detail = details[detailName.toUpperCase()];
  if (detail === undefined) throw new TypeError(`Unknown ${typeKey} detail '${detailName}'`);
  return {
    eventId: EventId.LIFECYCLE,
    event: EVENT_IDS[EventId.LIFECYCLE],
    lifecycle: {
      type,
      typeName: LIFECYCLE_TYPE_NAMES[type],
      detail,
      detailName: LIFECYCLE_DETAIL_NAMES[type][detail],
    },
  };
}

function other(eventId: number, data?: Record<string, string | number>): LibvirtEvent {
  return { eventId, event: EVENT_IDS[eventId], ...(data === undefined ? {} : { data }) };
}

function at(state: DomainStateValue, reason: number): StateAndReason {
  return { state, reason };
}

/** Every fact type: the state it leads to and the libvirt event it is (reference §1–§3). */
export const FACT_TABLE: { readonly [T in DomainFactType]: FactRow<T> } = {
  "domain.defined": { event: (body) => lifecycle("DEFINED", body.detail) },
  "domain.undefined": { event: () => lifecycle("UNDEFINED", "removed") },
  "domain.launched": { state: () => at(DomainState.PAUSED, PausedReason.STARTING_UP) },
  // A migration's destination starts paused (migration) until its guest runs (RESUMED/migrated).
  "domain.started": {
    state: (body) =>
      body.detail === "migrated"
        ? at(DomainState.PAUSED, PausedReason.MIGRATION)
        : at(DomainState.RUNNING, RUNNING_REASONS[body.reason]),
    event: (body) => lifecycle("STARTED", body.detail),
  },
  "domain.suspended": {
    state: (body) => at(DomainState.PAUSED, PAUSED_REASONS[body.reason]),
    event: (body) => lifecycle("SUSPENDED", body.detail),
  },
  "domain.resumed": {
    state: (body) => at(DomainState.RUNNING, RUNNING_REASONS[body.reason]),
    event: (body) => lifecycle("RESUMED", body.detail),
  },
  "domain.shutdown": {
    state: () => at(DomainState.SHUTDOWN, ShutdownReason.UNKNOWN),
    event: (body) => lifecycle("SHUTDOWN", body.detail),
  },
  "domain.stopped": {
    state: (body) => at(DomainState.SHUTOFF, SHUTOFF_REASONS[body.reason]),
    event: (body) => lifecycle("STOPPED", body.detail),
  },
  "domain.crashed": {
    state: () => at(DomainState.CRASHED, CrashedReason.PANICKED),
    event: (body) => lifecycle("CRASHED", body.detail),
  },
  "domain.pmsuspended": {
    state: () => at(DomainState.PMSUSPENDED, 0),
    event: (body) => lifecycle("PMSUSPENDED", body.detail),
  },
  "domain.rebooted": {
    state: (body) =>
      body.reason === "booted" ? at(DomainState.RUNNING, RunningReason.BOOTED) : undefined,
    event: () => other(EventId.REBOOT),
  },
  "domain.autostart_changed": {},
  // libvirt tells an UNDEFINED (renamed) of the old name and a DEFINED (renamed) of the new one;
  // one fact is one event here: the DEFINED (renamed), under the new name.
  "domain.renamed": { event: () => lifecycle("DEFINED", "renamed") },
  "domain.metadata_changed": {
    event: (body) =>
      other(EventId.METADATA_CHANGE, {
        type: METADATA_KINDS.indexOf(body.kind),
        ...(body.nsuri === undefined ? {} : { nsuri: body.nsuri }),
      }),
  },
  "domain.deadline_set": {},
  // Intents: what the hypervisor is about to do; no state of their own, no libvirt event.
  "domain.launching": {},
  "domain.ending": {},
  "domain.rebooting": {},
  "domain.resetting": {},
  "domain.intent_abandoned": {},
  // Save intent (save_commands.ts): no state of its own, no libvirt event.
  "domain.saving": {},
  "domain.managed_save_recorded": {},
  "domain.managed_save_removed": {},
  // The host's guests list (host_guests.ts): no state of its own, no libvirt event.
  "domain.guests_listed": {},
  "domain.guests_unlisted": {},
  "domain.migrating": {},
  "domain.migration_ended": {},
  "domain.balloon_changed": {
    event: (body) => other(EventId.BALLOON_CHANGE, { actual: body.actualKiB }),
  },
  "domain.rtc_changed": {
    event: (body) => other(EventId.RTC_CHANGE, { utcoffset: body.utcOffsetSeconds }),
  },
  "domain.watchdog_fired": {
    event: (body) => other(EventId.WATCHDOG, { action: WATCHDOG_ACTIONS.indexOf(body.action) }),
  },
  "domain.io_error": {
    event: (body) =>
      other(EventId.IO_ERROR_REASON, {
        srcPath: body.srcPath,
        devAlias: body.devAlias,
        action: IO_ERROR_ACTIONS.indexOf(body.action),
        reason: body.reason,
      }),
  },
  "domain.device_removed": {
    event: (body) => other(EventId.DEVICE_REMOVED, { alias: body.alias }),
  },
  // libvirt tells no event for setmem, setmaxmem, setvcpus or blockresize.
  "domain.config_changed": {},
  "domain.live_changing": {},
  "domain.live_changed": {},
  "domain.device_config_changed": {},
  "domain.device_attached": {
    event: (body) => other(EventId.DEVICE_ADDED, { alias: body.alias }),
  },
  "domain.device_updated": {},
  "domain.device_removal_requested": {},
  "domain.device_removal_failed": {
    event: (body) => other(EventId.DEVICE_REMOVAL_FAILED, { alias: body.alias }),
  },
  // libvirt tells each block job event twice: BLOCK_JOB (the disk's path) and BLOCK_JOB_2 (its
  // target); the event stream carries the second with both, the RPC layer sends both.
  "domain.block_job_starting": {},
  "domain.block_job_started": {},
  "domain.block_job_ready": { event: (body) => blockJobEvent(body, "ready") },
  "domain.block_job_ending": {},
  "domain.block_job_ended": { event: (body) => blockJobEvent(body, body.status) },
  "domain.block_job_abandoned": {},
  // Snapshots: the tree is bookkeeping (libvirt tells no event for it); a revert's state changes
  // are their own facts (DEFINED, STOPPED, STARTED, SUSPENDED with detail from_snapshot).
  "domain.snapshot_creating": {},
  "domain.snapshot_created": {},
  "domain.snapshot_reverting": {},
  "domain.snapshot_reverted": {},
  "domain.snapshot_deleting": {},
  "domain.snapshot_deleted": {},
  "domain.snapshot_current_changed": {},
};

function blockJobEvent(
  job: { disk: string; path: string; type: BlockJobType },
  status: typeof BLOCK_JOB_STATUSES[number],
): LibvirtEvent {
  return other(EventId.BLOCK_JOB_2, {
    disk: job.disk,
    path: job.path,
    type: BLOCK_JOB_TYPES.indexOf(job.type),
    status: BLOCK_JOB_STATUSES.indexOf(status),
  });
}

/** The row of a fact's type, typed for that fact's body. */
function rowOf(fact: DomainFact): FactRow<DomainFactType> {
  return FACT_TABLE[fact.type] as unknown as FactRow<DomainFactType>;
}

/**
 * The libvirt event a domain fact is, or undefined for bookkeeping facts that libvirt has no
 * event for (launched, autostart, deadlines).
 *
 * @example
 * ```ts
 * import { libvirtEventOf } from "./lifecycle_table.ts";
 * const event = libvirtEventOf({ type: "domain.stopped", body: { detail: "destroyed", reason: "destroyed" } });
 * console.log(event?.lifecycle?.type, event?.lifecycle?.detail); // 5 1
 * ```
 */
export function libvirtEventOf(fact: DomainFact): LibvirtEvent | undefined {
  return rowOf(fact).event?.(fact.body as never);
}

/**
 * The libvirt state and reason a fact leads to, or undefined when the fact leaves the state as
 * it is or the state before decides it.
 *
 * @example
 * ```ts
 * import { stateAfter } from "./lifecycle_table.ts";
 * console.log(stateAfter({ type: "domain.resumed", body: { detail: "unpaused", reason: "unpaused" } }));
 * // { state: 1, reason: 5 }
 * ```
 */
export function stateAfter(fact: DomainFact): StateAndReason | undefined {
  return rowOf(fact).state?.(fact.body as never);
}

/**
 * The paused reason number of a paused reason name (reference §1).
 *
 * @example
 * ```ts
 * import { pausedReasonNumber } from "./lifecycle_table.ts";
 * console.log(pausedReasonNumber("ioerror")); // 5
 * ```
 */
export function pausedReasonNumber(
  reason: DomainFactBodies["domain.suspended"]["reason"],
): number {
  return PAUSED_REASONS[reason];
}

/** What the domain was doing when an observation arrived, where the fact depends on it. */
export interface ObservedDuring {
  /** The guest had shut down (the domain is in shutdown): a process exit is a clean stop. */
  shuttingDown: boolean;
  /** The block jobs the domain runs, by disk target: their type and the path events name. */
  blockJobs?: Readonly<Record<string, { type: BlockJobType; path: string }>>;
}

/** Builds the fact one observation kind is. */
type ObservationRow<K extends ObservationKind> = (
  observation: Extract<Observation, { kind: K }>,
  during: ObservedDuring,
) => DomainFact;

/** Every observation kind and the fact it is (reference §3, the driver's triggers). */
export const OBSERVATION_FACTS: { readonly [K in ObservationKind]: ObservationRow<K> } = {
  shutdown: (observation) => ({ type: "domain.shutdown", body: { detail: observation.detail } }),
  // QEMU exits after the guest shut down: a clean stop; any other exit is a failure.
  stopped: (observation, during) => ({
    type: "domain.stopped",
    body: during.shuttingDown || observation.reason === "shutdown"
      ? { detail: "shutdown", reason: "shutdown" }
      : { detail: "failed", reason: "crashed" },
  }),
  paused: (observation) => ({
    type: "domain.suspended",
    body: { detail: SUSPENDED_DETAILS[observation.reason], reason: observation.reason },
  }),
  resumed: () => ({ type: "domain.resumed", body: { detail: "unpaused", reason: "unpaused" } }),
  reset: (observation) => ({
    type: "domain.rebooted",
    body: observation.booted ? { reason: "booted" } : {},
  }),
  crashed: (observation) => ({ type: "domain.crashed", body: { detail: observation.detail } }),
  pmsuspended: (observation) => ({
    type: "domain.pmsuspended",
    body: { detail: observation.detail },
  }),
  wakeup: () => ({ type: "domain.started", body: { detail: "wakeup", reason: "wakeup" } }),
  balloon: (observation) => ({
    type: "domain.balloon_changed",
    body: { actualKiB: observation.actualKiB },
  }),
  rtc: (observation) => ({
    type: "domain.rtc_changed",
    body: { utcOffsetSeconds: observation.utcOffsetSeconds },
  }),
  watchdog: (observation) => ({
    type: "domain.watchdog_fired",
    body: { action: observation.action },
  }),
  io_error: (observation) => ({
    type: "domain.io_error",
    body: {
      srcPath: observation.srcPath,
      devAlias: observation.devAlias,
      action: observation.action,
      reason: observation.reason,
    },
  }),
  device_removed: (observation) => ({
    type: "domain.device_removed",
    body: { alias: observation.alias },
  }),
  // A job the domain does not run (started by hand through the monitor) names type `pull` and
  // no path here; the machine refuses facts of jobs it does not know, so none is recorded.
  block_job: (observation, during) => {
    const job = during.blockJobs?.[observation.disk] ?? { type: "pull" as const, path: "" };
    const named = { disk: observation.disk, type: job.type, path: job.path };
    if (observation.status === "ready") return { type: "domain.block_job_ready", body: named };
    return {
      type: "domain.block_job_ended",
      body: {
        ...named,
        status: observation.status,
        ...(observation.error === undefined ? {} : { error: observation.error }),
      },
    };
  },
};

/**
 * The fact an observation is.
 *
 * @param observation What the driver saw.
 * @param during What the domain was doing.
 * @returns The fact to record (the machine decides whether it still applies).
 *
 * @example
 * ```ts
 * import { factOfObservation } from "./lifecycle_table.ts";
 * const fact = factOfObservation({ kind: "paused", reason: "ioerror" }, { shuttingDown: false });
 * console.log(fact); // { type: "domain.suspended", body: { detail: "ioerror", reason: "ioerror" } }
 * ```
 */
export function factOfObservation(observation: Observation, during: ObservedDuring): DomainFact {
  const row = OBSERVATION_FACTS[observation.kind] as ObservationRow<ObservationKind>;
  return row(observation as never, during);
}
