/**
 * The domain lifecycle as an XState v5 machine: libvirt's states and reasons, folded from facts.
 *
 * The machine is pure. Its events are the facts of the log (`domain.started`, …) and the names of
 * commands (`command.start`, …). A fact moves the machine; a command event moves nothing and only
 * tells, through {@linkcode accepts}, whether the command is valid in the current state. All I/O
 * (driver calls, appends) lives in the domain actor's job runner: XState does not restore delayed
 * transitions or invoked promises from a persisted snapshot, and replay must run no side effect,
 * so the same pure `transition()` folds the log at recovery and applies each new fact live.
 *
 * @module
 */

import { assign, setup } from "xstate";
import { factBodyReader, factFold } from "./fact_fold.ts";
import type { DomainDefinition, XmlElement } from "../src/model/domain.ts";
import type { DomainCommandName } from "../src/model/operations.ts";
import type {
  BlockJobStart,
  Deadline,
  DomainFact,
  DomainFactBodies,
  RuntimeRecord,
} from "../src/model/facts.ts";
import {
  type BlockJobResult,
  type ChainLayer,
  diskChain,
  withBlockJobApplied,
  withConfigFollowing,
  withJobResult,
  writtenChain,
} from "../src/model/block_jobs.ts";
import { DomainState, type DomainStateValue } from "../src/model/lifecycle.ts";
import { pausedReasonNumber, stateAfter } from "../src/model/lifecycle_table.ts";
import { withoutAlias } from "../src/model/device_edit.ts";
import { compactDefinition } from "../src/model/compact_definition.ts";
import {
  EMPTY_SNAPSHOT_TREE,
  type SnapshotTree,
  withCurrent,
  withoutSnapshots,
  withSnapshot,
} from "../src/model/snapshot_tree.ts";

export { pausedReasonNumber };

/** What the machine knows about one domain. Plain JSON, so it can go into a snapshot as is. */
export interface DomainContext {
  /** The domain's uuid, fixed for its life. */
  uuid: string;
  /** The domain's name; kept after undefine so old events can still be named. */
  name: string;
  /** The persistent definition; null for a transient domain or one not (yet) defined. */
  definition: DomainDefinition | null;
  /** The definition the running instance was started with; null when inactive. */
  live: DomainDefinition | null;
  /** Whether the domain has a persistent definition. */
  persistent: boolean;
  /** Whether the domain starts with the service. */
  autostart: boolean;
  /** The id of the running instance; null when inactive. */
  id: number | null;
  /** The libvirt reason of the current state. */
  reason: number;
  /** Driver data to find the running instance again; null when inactive. */
  runtime: RuntimeRecord | null;
  /** A deadline that outlives its command, re-armed after a restart; null when none. */
  deadline: Deadline | null;
  /**
   * What the hypervisor was about to do when it was last recorded, until the outcome is
   * recorded; null when nothing is pending. Recovery finishes or undoes it. (Absent in
   * snapshots older than intents: read it with {@linkcode pendingIntent}.)
   */
  intent?: DomainIntent | null;
  /**
   * Aliases of devices the guest was asked to release and has not yet (`device_del` sent, no
   * DEVICE_DELETED yet). (Absent in snapshots older than device changes: none.)
   */
  removals?: string[];
  /**
   * The path of the domain's managed save image, which its next start restores; null or absent
   * when it has none.
   */
  managedSave?: string | null;
  /**
   * Whether the domain is on the host's guests list (libvirt-guests' list of guests to start
   * again), with what the stop does to it; null or absent when it is not.
   */
  guestsListed?: DomainFactBodies["domain.guests_listed"] | null;
  /**
   * The block jobs of the running instance, by disk target, from their start's intent until
   * they end. (Absent in snapshots older than block jobs: none.)
   */
  blockJobs?: Record<string, BlockJobEntry>;
  /**
   * The domain's snapshots and the current one. (Absent in snapshots older than snapshots:
   * none; read it with {@linkcode snapshotTreeOf}.)
   */
  snapshots?: SnapshotTree;
  /**
   * A revert to a snapshot begun and not finished (its intent outlives the end and launch
   * intents the revert records on its way); null or absent when none.
   */
  reverting?: DomainFactBodies["domain.snapshot_reverting"] | null;
  /**
   * A live migration between fleet hosts begun and not ended (its intent outlives the launch
   * and end intents recorded on its way); null or absent when none.
   */
  migration?: DomainFactBodies["domain.migrating"] | null;
}

/** The live migration the domain takes part in, or null. */
export function pendingMigration(
  snapshot: DomainSnapshot,
): DomainFactBodies["domain.migrating"] | null {
  return snapshot.context.migration ?? null;
}

/** The revert the domain was carrying out when it was last recorded, or null. */
export function pendingRevert(
  snapshot: DomainSnapshot,
): DomainFactBodies["domain.snapshot_reverting"] | null {
  return snapshot.context.reverting ?? null;
}

/** The domain's snapshot tree (empty when it has none). */
export function snapshotTreeOf(snapshot: DomainSnapshot): SnapshotTree {
  return snapshot.context.snapshots ?? EMPTY_SNAPSHOT_TREE;
}

/** A block job the domain runs: what it is, and how far it got. */
export interface BlockJobEntry extends BlockJobStart {
  /**
   * `starting` (intent recorded, not yet known to run), `running`, `ready` (synchronized: may
   * pivot), `ending` (pivot or abort asked).
   */
  phase: "starting" | "running" | "ready" | "ending";
  /** While ending: whether a pivot was asked (else an abort). */
  pivot?: boolean;
  /** While ending: whether the job was ready (it is again if the end is not carried out). */
  wasReady?: boolean;
}

/** A pending intent: a launch (its plan) or an end (the shut-off reason it will have). */
export type DomainIntent =
  | ({ kind: "launch" } & DomainFactBodies["domain.launching"])
  | ({ kind: "end" } & DomainFactBodies["domain.ending"])
  | { kind: "reboot" }
  | { kind: "reset" }
  | ({ kind: "live_change" } & DomainFactBodies["domain.live_changing"])
  | ({ kind: "save" } & DomainFactBodies["domain.saving"])
  | ({ kind: "snapshot_create" } & DomainFactBodies["domain.snapshot_creating"])
  | ({ kind: "snapshot_revert" } & DomainFactBodies["domain.snapshot_reverting"])
  | ({ kind: "snapshot_delete" } & DomainFactBodies["domain.snapshot_deleting"]);

/** The domain's pending intent, or null. */
export function pendingIntent(snapshot: DomainSnapshot): DomainIntent | null {
  return snapshot.context.intent ?? null;
}

/** A context with nothing recorded but the name. */
function blankContext(name: string): Omit<DomainContext, "uuid"> {
  return {
    name,
    definition: null,
    live: null,
    persistent: false,
    autostart: false,
    id: null,
    reason: 0,
    runtime: null,
    deadline: null,
    intent: null,
    removals: [],
    blockJobs: {},
  };
}

/** The command names whose validity the machine decides: the operations table's `command`s. */
export type { DomainCommandName };

/** Events of the machine: facts, and command names for validity checks. */
export type DomainMachineEvent = DomainFact | { type: `command.${DomainCommandName}` };

/** The reason a state-changing fact leads to, from the lifecycle table (reference §1–§3). */
function reasonAfter(event: DomainMachineEvent): number {
  const after = stateAfter(event as DomainFact);
  if (after === undefined) throw new TypeError(`Fact ${event.type} names no state`);
  return after.reason;
}

const body = factBodyReader<DomainFactBodies>();

/** Informational facts: accepted while active, change nothing the machine tracks. */
const NOTES = {
  "domain.rebooted": { actions: "forgetRebootIntent" },
  "domain.balloon_changed": {},
  "domain.rtc_changed": {},
  "domain.watchdog_fired": {},
  "domain.io_error": {},
  "domain.device_removed": { actions: "recordRemoval" },
} as const;

/** Device changes of a running instance, accepted in every active state. */
const LIVE_DEVICE_FACTS = {
  "domain.device_attached": { actions: "recordLiveDevices" },
  "domain.device_updated": { actions: "recordLiveDevices" },
  "domain.device_removal_requested": { actions: "recordRemovalRequest" },
  "domain.device_removal_failed": { actions: "forgetRemovalRequest" },
  "domain.device_removed": { actions: "recordRemoval" },
} as const;

/**
 * Block job facts, accepted in every active state; all but the start's intent only for a job
 * the domain runs (a job started by hand through the monitor is not the domain's).
 */
const BLOCK_JOB_FACTS = {
  "domain.block_job_starting": { actions: "recordBlockJobStarting" },
  "domain.block_job_started": { guard: "hasBlockJob", actions: "recordBlockJobPhase" },
  "domain.block_job_ready": { guard: "hasBlockJob", actions: "recordBlockJobPhase" },
  "domain.block_job_ending": { guard: "hasBlockJob", actions: "recordBlockJobPhase" },
  "domain.block_job_ended": { guard: "hasBlockJob", actions: "recordBlockJobEnd" },
  "domain.block_job_abandoned": { guard: "hasBlockJob", actions: "recordBlockJobEnd" },
} as const;

/** The reset intent, accepted wherever `reset` is. */
const RESET_INTENT = {
  "domain.resetting": { actions: "recordResetting" },
} as const;

/** The reboot and reset intents, accepted wherever `reboot` is. */
const REBOOT_INTENTS = {
  ...RESET_INTENT,
  "domain.rebooting": { actions: "recordRebooting" },
} as const;

/**
 * Snapshot facts, accepted whether the domain runs or not (a revert stops and starts the
 * instance with facts of their own).
 */
const SNAPSHOT_FACTS = {
  "domain.snapshot_creating": { actions: "recordSnapshotIntent" },
  "domain.snapshot_reverting": { actions: "recordSnapshotIntent" },
  "domain.snapshot_deleting": { actions: "recordSnapshotIntent" },
  "domain.snapshot_created": { actions: "recordSnapshotCreated" },
  "domain.snapshot_reverted": { actions: "recordSnapshotReverted" },
  "domain.snapshot_deleted": { actions: "recordSnapshotDeleted" },
  "domain.snapshot_current_changed": { actions: "recordSnapshotCurrent" },
} as const;

/** A live migration's intent and end, accepted in every state. */
const MIGRATION_FACTS = {
  "domain.migrating": { actions: "recordMigrating" },
  "domain.migration_ended": { actions: "forgetMigration" },
} as const;

/** Commands accepted in a state (targetless: they only answer {@linkcode accepts}). */
function commands(...names: DomainCommandName[]): Record<string, Record<string, never>> {
  return Object.fromEntries(names.map((name) => [`command.${name}`, {}]));
}

/**
 * The domain lifecycle machine. Input: the domain's uuid.
 *
 * @example Folding facts with the pure transition function
 * ```ts ignore
 * import { initialTransition, transition } from "xstate";
 * import { domainMachine, stateOf } from "./domain_machine.ts";
 * let [snapshot] = initialTransition(domainMachine, { uuid: "…" });
 * [snapshot] = transition(domainMachine, snapshot, { type: "domain.defined", body: { definition, detail: "added" } });
 * console.log(stateOf(snapshot)); // { state: 5, reason: 0 }
 * ```
 */
export const domainMachine = setup({
  types: {
    context: {} as DomainContext,
    events: {} as DomainMachineEvent,
    input: {} as { uuid: string },
  },
  actions: {
    recordDefinition: assign(({ event }) => {
      const { definition } = body(event, "domain.defined");
      return { definition, persistent: true, name: definition.name };
    }),
    recordFirstDefinition: assign(({ event }) => {
      const { definition } = body(event, "domain.defined");
      return { ...blankContext(definition.name), definition, persistent: true };
    }),
    forgetDefinition: assign({ definition: null, persistent: false, autostart: false }),
    recordLaunch: assign(({ event, context }) => {
      const launched = body(event, "domain.launched");
      const reason = reasonAfter(event);
      const live = launched.definition ?? context.definition;
      if (live === null) throw new Error(`Domain ${context.uuid} launched without a definition`);
      return {
        name: live.name,
        live,
        id: launched.id,
        runtime: launched.runtime,
        persistent: launched.persistent || context.persistent,
        reason,
        intent: null,
        removals: [],
        blockJobs: {},
      };
    }),
    recordReason: assign(({ event }) => ({ reason: reasonAfter(event) })),
    recordLaunching: assign(({ event }) => ({
      intent: { kind: "launch" as const, ...body(event, "domain.launching") },
    })),
    recordEnding: assign(({ event }) => ({
      intent: { kind: "end" as const, ...body(event, "domain.ending") },
    })),
    forgetIntent: assign(({ event }) =>
      event.type === "domain.intent_abandoned" && event.body.intent === "snapshot_revert"
        ? { intent: null, reverting: null }
        : { intent: null }
    ),
    recordRebooting: assign({ intent: { kind: "reboot" as const } }),
    recordMigrating: assign({ migration: ({ event }) => body(event, "domain.migrating") }),
    forgetMigration: assign({ migration: null }),
    recordResetting: assign({ intent: { kind: "reset" as const } }),
    forgetRebootIntent: assign(({ context }) => ({
      intent: context.intent?.kind === "reboot" || context.intent?.kind === "reset"
        ? null
        : context.intent ?? null,
    })),
    recordStopped: assign(({ event }) => ({
      reason: reasonAfter(event),
      live: null,
      id: null,
      runtime: null,
      deadline: null,
      intent: null,
      removals: [],
      blockJobs: {},
    })),
    recordDeviceConfig: assign(({ event }) => ({
      definition: body(event, "domain.device_config_changed").definition,
    })),
    recordLiveDevices: assign(({ event }) => ({
      live: (event as { body: { live: DomainDefinition } }).body.live,
    })),
    recordRemovalRequest: assign(({ event, context }) => {
      const { alias } = body(event, "domain.device_removal_requested");
      const pending = (context.removals ?? []).filter((each) => each !== alias);
      return { removals: [...pending, alias] };
    }),
    forgetRemovalRequest: assign(({ event, context }) => {
      const { alias } = body(event, "domain.device_removal_failed");
      return { removals: (context.removals ?? []).filter((each) => each !== alias) };
    }),
    recordRemoval: assign(({ event, context }) => {
      const { alias } = body(event, "domain.device_removed");
      return {
        live: context.live === null ? null : withoutAlias(context.live, alias),
        removals: (context.removals ?? []).filter((each) => each !== alias),
      };
    }),
    recordBlockJobStarting: assign(({ event, context }) => {
      const start = body(event, "domain.block_job_starting");
      const entry: BlockJobEntry = { ...start, phase: "starting" };
      return { blockJobs: { ...(context.blockJobs ?? {}), [start.disk]: entry } };
    }),
    recordBlockJobPhase: assign(({ event, context }) => {
      const { disk } = (event as { body: { disk: string } }).body;
      const entry = context.blockJobs?.[disk];
      if (entry === undefined) return {};
      let next: BlockJobEntry;
      if (event.type === "domain.block_job_ending") {
        const { pivot } = body(event, "domain.block_job_ending");
        next = { ...entry, phase: "ending", pivot, wasReady: entry.phase === "ready" };
      } else if (event.type === "domain.block_job_ready") {
        next = { ...entry, phase: "ready" };
      } else {
        // Started again after an end that was not carried out: back where it was.
        const ready = entry.phase === "ending" && entry.wasReady === true;
        next = { ...entry, phase: ready ? "ready" : "running" };
        delete next.pivot;
        delete next.wasReady;
      }
      return { blockJobs: { ...context.blockJobs, [disk]: next } };
    }),
    recordBlockJobEnd: assign(({ event, context }) => {
      const { disk } = (event as { body: { disk: string } }).body;
      const jobs = { ...(context.blockJobs ?? {}) };
      const entry = jobs[disk];
      delete jobs[disk];
      const completed = event.type === "domain.block_job_ended" &&
        body(event, "domain.block_job_ended").status === "completed";
      if (!completed || entry === undefined || context.live === null) return { blockJobs: jobs };
      const applied = withBlockJobApplied(context.live, context.runtime, disk, entry.result);
      const definition = context.definition === null
        ? null
        : withConfigFollowing(context.definition, disk, entry.path, entry.type, entry.result);
      return { blockJobs: jobs, live: applied.live, runtime: applied.runtime, definition };
    }),
    recordAutostart: assign(({ event }) => ({
      autostart: body(event, "domain.autostart_changed").autostart,
    })),
    recordMetadata: assign(({ event, context }) => applyMetadata(context, event)),
    recordRename: assign(({ event, context }) => {
      const { to } = body(event, "domain.renamed");
      const definition = context.definition === null ? null : { ...context.definition, name: to };
      return { name: to, definition };
    }),
    recordDeadline: assign(({ event }) => ({ deadline: body(event, "domain.deadline_set") })),
    recordConfigChange: assign(({ event }) => ({
      definition: body(event, "domain.config_changed").definition,
    })),
    recordSaving: assign(({ event }) => ({
      intent: { kind: "save" as const, ...body(event, "domain.saving") },
    })),
    recordManagedSave: assign(({ event }) => ({
      managedSave: body(event, "domain.managed_save_recorded").path,
    })),
    forgetManagedSave: assign({ managedSave: null }),
    recordGuestsListed: assign(({ event }) => ({
      guestsListed: body(event, "domain.guests_listed"),
    })),
    forgetGuestsListed: assign({ guestsListed: null }),
    recordSnapshotIntent: assign(({ event }) => {
      if (event.type === "domain.snapshot_creating") {
        return { intent: { kind: "snapshot_create" as const, ...event.body } };
      }
      if (event.type === "domain.snapshot_reverting") {
        return {
          intent: { kind: "snapshot_revert" as const, ...event.body },
          reverting: event.body,
        };
      }
      return {
        intent: { kind: "snapshot_delete" as const, ...body(event, "domain.snapshot_deleting") },
      };
    }),
    recordSnapshotCreated: assign(({ event, context }) => {
      const created = body(event, "domain.snapshot_created");
      const tree = context.snapshots ?? EMPTY_SNAPSHOT_TREE;
      const moved = withOverlays(context, created.overlays ?? [], created.live === true);
      return {
        snapshots: created.metadata ? withSnapshot(tree, created.snapshot, created.current) : tree,
        intent: context.intent?.kind === "snapshot_create" ? null : context.intent ?? null,
        ...moved,
      };
    }),
    recordSnapshotReverted: assign(({ event, context }) => ({
      snapshots: withCurrent(
        context.snapshots ?? EMPTY_SNAPSHOT_TREE,
        body(event, "domain.snapshot_reverted").name,
      ),
      intent: context.intent?.kind === "snapshot_revert" ? null : context.intent ?? null,
      reverting: null,
    })),
    recordSnapshotDeleted: assign(({ event, context }) => {
      const deleted = body(event, "domain.snapshot_deleted");
      return {
        snapshots: withoutSnapshots(context.snapshots ?? EMPTY_SNAPSHOT_TREE, deleted.names),
        intent: context.intent?.kind === "snapshot_delete" ? null : context.intent ?? null,
        ...withMergedChains(context, deleted.chains ?? []),
      };
    }),
    recordSnapshotCurrent: assign(({ event, context }) => ({
      snapshots: withCurrent(
        context.snapshots ?? EMPTY_SNAPSHOT_TREE,
        body(event, "domain.snapshot_current_changed").name,
      ),
    })),
    recordLiveChanging: assign(({ event }) => ({
      intent: { kind: "live_change" as const, ...body(event, "domain.live_changing") },
    })),
    recordLiveChange: assign(({ event, context }) => ({
      live: body(event, "domain.live_changed").definition,
      intent: context.intent?.kind === "live_change" ? null : context.intent ?? null,
    })),
  },
  guards: {
    isTransient: ({ context }) => !context.persistent,
    hasBlockJob: ({ context, event }) =>
      context.blockJobs?.[(event as { body: { disk: string } }).body.disk] !== undefined,
    bootsAgain: ({ event }) => stateAfter(event as DomainFact) !== undefined,
    startsMigrated: ({ event }) =>
      (event as { body: { detail?: string } }).body.detail === "migrated",
  },
}).createMachine({
  id: "domain",
  context: ({ input }) => ({ uuid: input.uuid, ...blankContext("") }),
  initial: "nonexistent",
  states: {
    nonexistent: {
      on: {
        "domain.defined": { target: "shutoff", actions: "recordFirstDefinition" },
        "domain.launching": { actions: "recordLaunching" },
        "domain.launched": { target: "active.starting", actions: "recordLaunch" },
        "domain.intent_abandoned": { actions: "forgetIntent" },
        "domain.guests_unlisted": { actions: "forgetGuestsListed" },
        ...SNAPSHOT_FACTS,
        ...MIGRATION_FACTS,
        ...commands("define"),
      },
    },
    shutoff: {
      on: {
        "domain.defined": { target: "shutoff", actions: "recordDefinition" },
        "domain.undefined": { target: "nonexistent", actions: "forgetDefinition" },
        "domain.launching": { actions: "recordLaunching" },
        "domain.launched": { target: "active.starting", actions: "recordLaunch" },
        "domain.intent_abandoned": { actions: "forgetIntent" },
        "domain.autostart_changed": { actions: "recordAutostart" },
        "domain.metadata_changed": { actions: "recordMetadata" },
        "domain.renamed": { actions: "recordRename" },
        "domain.config_changed": { actions: "recordConfigChange" },
        "domain.device_config_changed": { actions: "recordDeviceConfig" },
        "domain.managed_save_removed": { actions: "forgetManagedSave" },
        "domain.guests_unlisted": { actions: "forgetGuestsListed" },
        ...SNAPSHOT_FACTS,
        ...MIGRATION_FACTS,
        ...commands(
          "define",
          "undefine",
          "start",
          "snapshot",
          "managedsave_remove",
          "autostart",
          "metadata",
          "rename",
          "setmem",
          "setvcpus",
          "perf",
          "schedinfo",
          "iftune",
          "device",
        ),
      },
    },
    active: {
      on: {
        "domain.defined": { actions: "recordDefinition" },
        "domain.undefined": { actions: "forgetDefinition" },
        "domain.autostart_changed": { actions: "recordAutostart" },
        "domain.metadata_changed": { actions: "recordMetadata" },
        "domain.deadline_set": { actions: "recordDeadline" },
        "domain.config_changed": { actions: "recordConfigChange" },
        "domain.live_changing": { actions: "recordLiveChanging" },
        "domain.saving": { actions: "recordSaving" },
        "domain.managed_save_recorded": { actions: "recordManagedSave" },
        "domain.managed_save_removed": { actions: "forgetManagedSave" },
        "domain.guests_listed": { actions: "recordGuestsListed" },
        "domain.guests_unlisted": { actions: "forgetGuestsListed" },
        "domain.live_changed": { actions: "recordLiveChange" },
        "domain.ending": { actions: "recordEnding" },
        "domain.intent_abandoned": { actions: "forgetIntent" },
        "domain.device_config_changed": { actions: "recordDeviceConfig" },
        ...LIVE_DEVICE_FACTS,
        ...BLOCK_JOB_FACTS,
        ...SNAPSHOT_FACTS,
        ...MIGRATION_FACTS,
        "domain.stopped": [
          { guard: "isTransient", target: "nonexistent", actions: "recordStopped" },
          { target: "shutoff", actions: "recordStopped" },
        ],
        ...commands(
          "define",
          "undefine",
          "destroy",
          "autostart",
          "metadata",
          "setmem",
          "setvcpus",
          "perf",
          "schedinfo",
          "iftune",
          "blockresize",
          "blockjob",
          "device",
          "snapshot",
        ),
      },
      initial: "starting",
      states: {
        starting: {
          on: {
            // A migration's destination: paused (migration) until the guest runs there.
            "domain.started": [
              { guard: "startsMigrated", target: "paused", actions: "recordReason" },
              { target: "running", actions: "recordReason" },
            ],
          },
        },
        running: {
          on: {
            "domain.suspended": { target: "paused", actions: "recordReason" },
            "domain.shutdown": {
              target: "shuttingDown",
              actions: ["recordReason", "forgetRebootIntent"],
            },
            "domain.crashed": { target: "crashed", actions: "recordReason" },
            "domain.pmsuspended": { target: "pmsuspended", actions: "recordReason" },
            ...NOTES,
            ...REBOOT_INTENTS,
            // A reset that ends a reboot boots the guest (running (booted)), as libvirt's.
            "domain.rebooted": [
              { guard: "bootsAgain", actions: ["recordReason", "forgetRebootIntent"] },
              { actions: "forgetRebootIntent" },
            ],
            ...commands("shutdown", "reboot", "reset", "suspend", "resume", "save", "managedsave"),
          },
        },
        paused: {
          on: {
            "domain.resumed": { target: "running", actions: "recordReason" },
            "domain.suspended": { target: "paused", actions: "recordReason" },
            "domain.shutdown": {
              target: "shuttingDown",
              actions: ["recordReason", "forgetRebootIntent"],
            },
            "domain.crashed": { target: "crashed", actions: "recordReason" },
            ...NOTES,
            ...REBOOT_INTENTS,
            "domain.rebooted": [
              {
                guard: "bootsAgain",
                target: "running",
                actions: ["recordReason", "forgetRebootIntent"],
              },
              { actions: "forgetRebootIntent" },
            ],
            ...commands("reboot", "reset", "suspend", "resume", "save", "managedsave"),
          },
        },
        shuttingDown: {
          on: {
            "domain.resumed": { target: "running", actions: "recordReason" },
            "domain.crashed": { target: "crashed", actions: "recordReason" },
            ...NOTES,
            ...RESET_INTENT,
            ...commands("reset"),
          },
        },
        crashed: {
          on: {
            "domain.resumed": { target: "running", actions: "recordReason" },
            ...NOTES,
            ...RESET_INTENT,
            ...commands("reset", "resume"),
          },
        },
        pmsuspended: {
          on: {
            "domain.started": { target: "running", actions: "recordReason" },
            ...NOTES,
            ...RESET_INTENT,
            ...commands("reset"),
          },
        },
      },
    },
  },
});

/**
 * The definitions once external snapshot overlays are the disks' tops: the persistent one's
 * disks point at the overlays, and (when `live`) the instance's disks too, with their old chain
 * below.
 */
function withOverlays(
  context: DomainContext,
  overlays: readonly { disk: string; top: ChainLayer }[],
  live: boolean,
): Partial<DomainContext> {
  if (overlays.length === 0) return {};
  let definition = context.definition;
  let liveDefinition = context.live;
  let runtime = context.runtime;
  for (const { disk, top } of overlays) {
    if (definition !== null) {
      const index = definition.devices.disks.findIndex((each) => each.target.dev === disk);
      if (index >= 0) {
        const disks = [...definition.devices.disks];
        const old = disks[index];
        disks[index] = withJobResult(old, { top, backing: writtenChain(old) });
        definition = { ...definition, devices: { ...definition.devices, disks } };
      }
    }
    if (live && liveDefinition !== null) {
      const index = liveDefinition.devices.disks.findIndex((each) => each.target.dev === disk);
      if (index >= 0) {
        const backing = diskChain(liveDefinition, runtime, index);
        const applied = withBlockJobApplied(liveDefinition, runtime, disk, { top, backing });
        liveDefinition = applied.live;
        runtime = applied.runtime;
      }
    }
  }
  return { definition, live: liveDefinition, runtime };
}

/** The chains an external snapshot's deletion left, in the definitions and the instance. */
function withMergedChains(
  context: DomainContext,
  chains: readonly { disk: string; config?: BlockJobResult; live?: BlockJobResult }[],
): Partial<DomainContext> {
  if (chains.length === 0) return {};
  let definition = context.definition;
  let liveDefinition = context.live;
  let runtime = context.runtime;
  for (const { disk, config, live } of chains) {
    if (config !== undefined && definition !== null) {
      const index = definition.devices.disks.findIndex((each) => each.target.dev === disk);
      if (index >= 0) {
        const disks = [...definition.devices.disks];
        disks[index] = withJobResult(disks[index], config);
        definition = { ...definition, devices: { ...definition.devices, disks } };
      }
    }
    if (live !== undefined && liveDefinition !== null) {
      const applied = withBlockJobApplied(liveDefinition, runtime, disk, live);
      liveDefinition = applied.live;
      runtime = applied.runtime;
    }
  }
  return { definition, live: liveDefinition, runtime };
}

function applyMetadata(context: DomainContext, event: DomainMachineEvent): Partial<DomainContext> {
  const change = body(event, "domain.metadata_changed");
  const edit = (definition: DomainDefinition | null): DomainDefinition | null => {
    if (definition === null) return null;
    return withMetadata(definition, change);
  };
  return {
    definition: change.config ? edit(context.definition) : context.definition,
    live: change.live ? edit(context.live) : context.live,
  };
}

/**
 * A copy of `definition` with a title, description or metadata element set (or removed when
 * `value` is null).
 */
export function withMetadata(
  definition: DomainDefinition,
  change: DomainFactBodies["domain.metadata_changed"],
): DomainDefinition {
  const copy: DomainDefinition = { ...definition };
  if (change.kind === "title" || change.kind === "description") {
    if (change.value === null || change.value === undefined) delete copy[change.kind];
    else copy[change.kind] = change.value;
    return copy;
  }
  const nsuri = change.nsuri ?? "";
  const others = (definition.metadata ?? []).filter((entry) => elementNamespace(entry) !== nsuri);
  const entries = change.element ? [...others, change.element] : others;
  if (entries.length === 0) delete copy.metadata;
  else copy.metadata = entries;
  return copy;
}

/** The namespace URI an element declares for its own prefix (`xmlns:p` for `p:name`), or "". */
export function elementNamespace(element: XmlElement): string {
  const colon = element.name.indexOf(":");
  const attribute = colon === -1 ? "xmlns" : `xmlns:${element.name.slice(0, colon)}`;
  return element.attributes?.[attribute] ?? "";
}

/** The machine's type. */
export type DomainMachine = typeof domainMachine;

/** A domain's machine snapshot. */
export type DomainSnapshot = ReturnType<typeof domainMachine.getInitialSnapshot>;

/** The state value path of a snapshot, e.g. `active.running`. */
export function statePath(snapshot: DomainSnapshot): string {
  const value = snapshot.value as string | Record<string, string>;
  if (typeof value === "string") return value;
  const [parent, child] = Object.entries(value)[0];
  return `${parent}.${child}`;
}

const STATE_OF_PATH: Record<string, DomainStateValue> = {
  "nonexistent": DomainState.SHUTOFF,
  "shutoff": DomainState.SHUTOFF,
  "active.starting": DomainState.PAUSED,
  "active.running": DomainState.RUNNING,
  "active.paused": DomainState.PAUSED,
  "active.shuttingDown": DomainState.SHUTDOWN,
  "active.crashed": DomainState.CRASHED,
  "active.pmsuspended": DomainState.PMSUSPENDED,
};

/**
 * The libvirt state and reason of a snapshot.
 *
 * @example
 * ```ts ignore
 * console.log(stateOf(snapshot)); // { state: 1, reason: 1 } — running (booted)
 * ```
 */
export function stateOf(snapshot: DomainSnapshot): { state: DomainStateValue; reason: number } {
  return { state: STATE_OF_PATH[statePath(snapshot)], reason: snapshot.context.reason };
}

/**
 * The definition the domain has now: the running instance's, else the persistent one.
 *
 * @throws {Error} For a snapshot with neither (a domain not yet defined: a programming error).
 */
export function currentDefinition(snapshot: DomainSnapshot): DomainDefinition {
  const { context } = snapshot;
  const definition = context.live ?? context.definition;
  if (definition === null) throw new Error(`Domain ${context.uuid} has no definition`);
  return definition;
}

/** Whether the domain has a running instance (any active state). */
export function isActive(snapshot: DomainSnapshot): boolean {
  return statePath(snapshot).startsWith("active.");
}

/** Whether the domain exists (defined, or active as a transient domain). */
export function exists(snapshot: DomainSnapshot): boolean {
  return statePath(snapshot) !== "nonexistent";
}

const domainFold = factFold<DomainSnapshot, DomainMachineEvent>(
  domainMachine,
  "domain",
  (snapshot) => statePath(snapshot),
);

/**
 * Whether the machine has a transition for `event` in the current state: for a command, whether
 * the command is valid now; for a fact, whether it may be applied.
 */
export function accepts(snapshot: DomainSnapshot, event: DomainMachineEvent): boolean {
  return domainFold.accepts(snapshot, event);
}

/**
 * Applies one fact to a snapshot with XState's pure `transition()`.
 *
 * @throws {Error} When the machine has no transition for the fact: the log and the machine
 *   disagree, which is a programming error.
 */
export function applyFact(snapshot: DomainSnapshot, fact: DomainFact): DomainSnapshot {
  const next = domainFold.apply(snapshot, fact);
  if (next.context !== snapshot.context) keepCompact(next.context);
  return next;
}

/**
 * Keeps the context's definitions compact (src/model/compact_definition.ts): a definition that
 * just came in (from a fact, or a snapshot) is replaced by its compact form, an equal value.
 * The context is the one the fold just made, not yet seen by anyone.
 */
export function keepCompact(context: DomainContext): void {
  if (context.definition !== null) context.definition = compactDefinition(context.definition);
  if (context.live !== null) context.live = compactDefinition(context.live);
}
