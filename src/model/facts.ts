/**
 * The facts of a domain's life, as stored in the event log.
 *
 * Facts say what happened, never what was asked (`domain.started`, not "start requested"). Each
 * state-changing fact carries both the new state's reason and the lifecycle event's detail;
 * `lifecycle_table.ts` says, in one table, which state and which libvirt event each fact is.
 *
 * @module
 */

import type { DomainDefinition, XmlElement } from "./domain.ts";
import type { IoErrorActionName, WatchdogActionName } from "./lifecycle.ts";
import type { LiveFacts } from "./live_facts.ts";
import type { DeviceAction } from "./device_edit.ts";
import type { BlockJobResult, BlockJobType, ChainLayer } from "./block_jobs.ts";
import type { StoredSnapshot } from "./snapshot_tree.ts";

export type { IoErrorActionName, WatchdogActionName };

/** The stream of the domain with `uuid`. */
export function domainStream(uuid: string): string {
  return `domain/${uuid}`;
}

/** The uuid of a domain stream, or undefined for another stream. */
export function uuidOfStream(stream: string): string | undefined {
  return stream.startsWith("domain/") ? stream.slice("domain/".length) : undefined;
}

/** Detail names of a DEFINED event. */
export type DefinedDetail = "added" | "updated" | "from_snapshot";
/** Detail names of a STARTED event. */
export type StartedDetail = "booted" | "migrated" | "restored" | "from_snapshot" | "wakeup";
/** Detail names of a SUSPENDED event. */
export type SuspendedDetail =
  | "paused"
  | "migrated"
  | "ioerror"
  | "watchdog"
  | "restored"
  | "from_snapshot"
  | "api_error";
/** Detail names of a RESUMED event. */
export type ResumedDetail = "unpaused" | "migrated" | "from_snapshot";
/** Detail names of a STOPPED event. */
export type StoppedDetail =
  | "shutdown"
  | "destroyed"
  | "crashed"
  | "migrated"
  | "saved"
  | "failed"
  | "from_snapshot";
/** Detail names of a SHUTDOWN event. */
export type ShutdownDetail = "finished" | "guest" | "host";
/** Detail names of a PMSUSPENDED event. */
export type PmsuspendedDetail = "memory" | "disk";
/** Detail names of a CRASHED event. */
export type CrashedDetail = "panicked" | "crashloaded";

/** A pending deadline that outlives the command that set it (e.g. shutdown, then destroy). */
export interface Deadline {
  /** The job that set it, e.g. `shutdown`. */
  job: string;
  /** What happens when it expires while the domain is still active. */
  action: "destroy";
  /** When it expires, in ms since the epoch (absolute, so it can be re-armed after a restart). */
  atMs: number;
}

/** The body of each domain fact type. */
export interface DomainFactBodies {
  /** A persistent definition was added or replaced. */
  "domain.defined": { definition: DomainDefinition; detail: DefinedDetail };
  /** The persistent definition was removed; an active domain continues as transient. */
  "domain.undefined": Record<string, never>;
  /**
   * The hypervisor started the domain's process, its CPUs not yet running: paused (starting up).
   * `persistent` is false for a domain created from XML without a definition.
   */
  "domain.launched": {
    id: number;
    /**
     * The definition the instance runs with; null when it is the persistent definition as
     * recorded (the common case, which keeps the log small).
     */
    definition: DomainDefinition | null;
    persistent: boolean;
    runtime: RuntimeRecord;
  };
  /**
   * Intent: the hypervisor is about to start an instance, which will live at `runtime` (the
   * driver's plan: runtime directory, pid file, monitor, claim). Recorded before anything is
   * spawned, so recovery can find, adopt or clean up whatever the start left. The state does not
   * change; `domain.launched` or `domain.intent_abandoned` follows.
   */
  "domain.launching": {
    id: number;
    /** As in `domain.launched`: null when it is the persistent definition as recorded. */
    definition: DomainDefinition | null;
    persistent: boolean;
    runtime: RuntimeRecord;
  };
  /**
   * Intent: the instance is about to be ended; once it is gone the domain is shut off with this
   * detail and reason (so an end interrupted by a crash is finished with the right reason, not
   * taken for a crash of the guest).
   */
  "domain.ending": { detail: StoppedDetail; reason: ShutoffReasonName; graceful: boolean };
  /**
   * Intent: the guest was asked to reboot (libvirt's fake reboot: power-down, then reset and run
   * on its SHUTDOWN). Until the REBOOT, a restarted service finishes the reboot rather than
   * applying `on_poweroff` to the guest's shutdown.
   */
  "domain.rebooting": Record<string, never>;
  /** Intent: the guest is about to be reset; a restarted service resets it and records the REBOOT. */
  "domain.resetting": Record<string, never>;
  /** The pending intent ended without its action taking effect (the world is as before it). */
  "domain.intent_abandoned": { intent: IntentKind };
  /** The domain's CPUs run for the first time: running (reason). */
  "domain.started": { detail: StartedDetail; reason: RunningReasonName };
  /** The CPUs stopped: paused (reason). */
  "domain.suspended": { detail: SuspendedDetail; reason: PausedReasonName };
  /** The CPUs run again: running (reason). */
  "domain.resumed": { detail: ResumedDetail; reason: RunningReasonName };
  /** The guest or host shut it down; the process may still exist: in shutdown. */
  "domain.shutdown": { detail: ShutdownDetail };
  /** The process is gone: shut off (reason). */
  "domain.stopped": { detail: StoppedDetail; reason: ShutoffReasonName };
  /** The guest panicked: crashed (panicked). */
  "domain.crashed": { detail: CrashedDetail };
  /** The guest suspended itself to memory or disk: pmsuspended. */
  "domain.pmsuspended": { detail: PmsuspendedDetail };
  /**
   * The guest was reset (one per reboot or reset). With reason `booted`, the reset ended a
   * reboot and the domain runs again, booted, even if it was paused (libvirt's test driver; the
   * QEMU driver's fake reboot).
   */
  "domain.rebooted": { reason?: "booted" };
  /** Autostart was switched on or off. */
  "domain.autostart_changed": { autostart: boolean };
  /** The inactive persistent domain was renamed (`virDomainRename`): its definition too. */
  "domain.renamed": { from: string; to: string };
  /** The title, description or a metadata element changed. */
  "domain.metadata_changed": {
    kind: "description" | "title" | "element";
    /** For `description` and `title`: the new text; null removes it. */
    value?: string | null;
    /**
     * For `element`: the new element (its name prefixed with `key`, declaring `xmlns:key` as
     * `nsuri`); null removes the namespace's element.
     */
    element?: XmlElement | null;
    /** For `element`: the namespace URI the element belongs to. */
    nsuri?: string;
    /** For `element`: the namespace prefix used in the XML. */
    key?: string;
    /** Whether the live definition changed (active domains). */
    live: boolean;
    /** Whether the persistent definition changed. */
    config: boolean;
  };
  /** A deadline was set (its action runs when it expires). */
  "domain.deadline_set": Deadline;
  /** The guest's balloon reached a new size. */
  "domain.balloon_changed": { actualKiB: number };
  /** The guest changed its RTC. */
  "domain.rtc_changed": { utcOffsetSeconds: number };
  /** The guest's watchdog fired. */
  "domain.watchdog_fired": { action: WatchdogActionName };
  /** A disk reported an I/O error. */
  "domain.io_error": {
    srcPath: string;
    devAlias: string;
    action: IoErrorActionName;
    reason: string;
  };
  /**
   * A device was removed from the guest (QEMU's DEVICE_DELETED): it leaves the live definition
   * and its pending removal ends.
   */
  "domain.device_removed": { alias: string };
  /**
   * The persistent definition's memory, vCPU counts or perf events changed (`setmem --config`,
   * `setmaxmem`, `setvcpus --config`, `perf --config`): the new definition.
   */
  "domain.config_changed": { definition: DomainDefinition; change: ResourceChange };
  /**
   * Intent: the hypervisor is about to change the running instance (balloon target, vCPU
   * hotplug, disk size, perf counters) so that it matches `definition`.
   */
  "domain.live_changing": {
    definition: DomainDefinition;
    change: ResourceChange;
    /** For `disk_size`: the disk's target and its new size in bytes (a decimal string). */
    disk?: { target: string; sizeBytes: string };
  };
  /**
   * The running instance changed (or, for the test hypervisor, was changed): its live
   * definition is now `definition`, which a restarted service shows without asking QEMU.
   */
  "domain.live_changed": {
    definition: DomainDefinition;
    change: ResourceChange;
    /** For `disk_size`: the disk's target and its new size in bytes (a decimal string). */
    disk?: { target: string; sizeBytes: string };
  };
  /**
   * The persistent definition gained, lost or replaced a device (`attach-device --config`, …):
   * the whole new definition, completed as define completes it.
   */
  "domain.device_config_changed": { action: DeviceAction; definition: DomainDefinition };
  /** A device was plugged into the running guest: the new live definition and its alias. */
  "domain.device_attached": { alias: string; live: DomainDefinition };
  /** A device of the running guest changed (a removable medium): the new live definition. */
  "domain.device_updated": { alias: string; live: DomainDefinition };
  /**
   * Intent: the guest is about to be asked to release the device with `alias` (`device_del`);
   * it stays pending until the guest's DEVICE_DELETED is recorded as `domain.device_removed`.
   */
  "domain.device_removal_requested": { alias: string };
  /** The guest was not asked after all, or refused: the device stays, no removal is pending. */
  "domain.device_removal_failed": { alias: string };
  // --- save and restore (save_commands.ts) -------------------------------------------------
  /**
   * Intent: the instance's state is about to be written to the save image at `path` (a
   * `managed` one is the service's own). Until `domain.stopped` (saved) or
   * `domain.intent_abandoned`, a restarted service looks at the image: complete, the save is
   * finished; partial or missing, it is removed and the guest left as it was.
   */
  "domain.saving": { path: string; wasRunning: boolean; managed: boolean };
  /** The domain's managed save image at `path` is complete: the next start restores it. */
  "domain.managed_save_recorded": { path: string };
  /** The managed save image was restored, discarded (`--force-boot`) or removed. */
  "domain.managed_save_removed": Record<string, never>;
  // --- the host's guests stopped and started again (host_guests.ts, libvirt-guests) ---------
  /**
   * Intent: the host's guests are being stopped (libvirt-guests' `ON_SHUTDOWN`) and this active
   * domain is on the list: it is about to be managed-saved (`suspend`) or shut down
   * (`shutdown`). Recorded for every guest of the list before any is acted on; the next start
   * with `ON_BOOT=start` starts it again (a managed save image is restored), unless it is
   * active by then. `order` is its place in the list.
   */
  "domain.guests_listed": { action: GuestsStopAction; order: number };
  /**
   * The domain left the host's guests list at a start of the host's guests: started again,
   * already active, not started (its start failed, or `ON_BOOT=ignore`), or gone.
   */
  "domain.guests_unlisted": { outcome: GuestsStartOutcome };
  // --- live migration between fleet hosts (migration_commands.ts) --------------------------
  /**
   * Intent: the domain's running instance takes part in the live migration `migration`: sent
   * to (`out`) or received from (`in`) the fleet host `host`, the receiving QEMU listening on
   * loopback TCP `port` (`in` only: recorded before the instance is spawned). Until
   * `domain.migration_ended`, a restarted service settles it by the domain's lease: the host
   * the lease names has the guest; the other ends its instance.
   */
  "domain.migrating": { migration: string; direction: "in" | "out"; host: string; port?: number };
  /** The migration ended: the guest moved (`completed`), or stayed on the source. */
  "domain.migration_ended": { migration: string; outcome: "completed" | "cancelled" | "failed" };
  // --- block jobs (block_job_commands.ts) -------------------------------------------------
  /**
   * Intent: a block job is about to start on the disk `disk` (its target): what it is, the
   * disk's source path (which BLOCK_JOB events name), the chain the disk has once the job
   * completes, and a copy's destination (`created` when the job makes it, so a job that does
   * not start removes it again).
   */
  "domain.block_job_starting": BlockJobStart;
  /** The hypervisor runs the block job of `disk`. */
  "domain.block_job_started": { disk: string };
  /** The block job of `disk` reached its synchronized phase: it may be pivoted or aborted. */
  "domain.block_job_ready": { disk: string; type: BlockJobType; path: string };
  /** Intent: the block job of `disk` is about to be ended: pivoted, or aborted. */
  "domain.block_job_ending": { disk: string; pivot: boolean };
  /**
   * The block job of `disk` ended: `completed` (a commit or pull done, a copy or active commit
   * pivoted: the disk now has the job's result), `failed` (with the hypervisor's error) or
   * `canceled`.
   */
  "domain.block_job_ended": {
    disk: string;
    type: BlockJobType;
    path: string;
    status: "completed" | "failed" | "canceled";
    error?: string;
  };
  /** The block job of `disk` did not start after all (the hypervisor refused): nothing runs. */
  "domain.block_job_abandoned": { disk: string };
  // --- snapshots (snapshot_commands.ts) -----------------------------------------------------
  /**
   * Intent: the snapshot `name` is about to be taken (`internal`: inside the disk images, and
   * the memory of a running guest; else new overlay files `overlays`, created by the snapshot).
   * Until `domain.snapshot_created` or `domain.intent_abandoned`, a restarted service removes
   * the overlays it finds and the internal snapshot of that name from the images. An external
   * snapshot of a running guest names also its memory image (`memoryFile`, removed unless
   * complete) and the record it will append (`finish`), so that recovery can finish it once
   * the instance has moved onto the overlays.
   */
  "domain.snapshot_creating": {
    name: string;
    internal: boolean;
    overlays: string[];
    memoryFile?: string;
    finish?: {
      snapshot: StoredSnapshot;
      metadata: boolean;
      overlays: { disk: string; top: ChainLayer }[];
    };
  };
  /**
   * The snapshot was taken: its complete definition, whether it is recorded (a `--no-metadata`
   * snapshot exists only in the images) and whether it became current; for an external
   * snapshot, each disk's new top image (the persistent definition and, when `live`, the
   * running instance's disks now point at the overlays, their old images below).
   */
  "domain.snapshot_created": {
    snapshot: StoredSnapshot;
    metadata: boolean;
    current: boolean;
    overlays?: { disk: string; top: ChainLayer }[];
    live?: boolean;
  };
  /**
   * Intent: the domain is about to be reverted to the snapshot `name` (its disks rewritten),
   * then run (`running`) or paused (`paused`) when asked; recovery does the revert again.
   */
  "domain.snapshot_reverting": { name: string; running?: boolean; paused?: boolean };
  /** The domain was reverted to the snapshot `name`, which is now current. */
  "domain.snapshot_reverted": { name: string };
  /**
   * Intent: the snapshots `names` are about to be removed from the disk images (not for a
   * `--metadata` delete, which touches no image).
   */
  "domain.snapshot_deleting": { names: string[] };
  /**
   * The snapshots `names` are gone: their children go to the nearest survivor above, and a
   * deleted current snapshot passes `current` up. An external snapshot's overlays were folded
   * into the images below: each disk's chain after it, in the persistent definition (`config`)
   * and the running instance (`live`).
   */
  "domain.snapshot_deleted": {
    names: string[];
    chains?: { disk: string; config?: BlockJobResult; live?: BlockJobResult }[];
  };
  /** The current snapshot changed without a revert (`snapshot-current NAME`); null: none. */
  "domain.snapshot_current_changed": { name: string | null };
}

/** What a block job that is about to start is (the body of `domain.block_job_starting`). */
export interface BlockJobStart {
  /** The disk's target, e.g. `vda`. */
  disk: string;
  type: BlockJobType;
  /** The disk's source path when the job started. */
  path: string;
  /** The disk's chain once the job completes. */
  result: BlockJobResult;
  /** A copy's destination; `created` when the job makes the file. */
  destination?: ChainLayer & { created: boolean };
  /** The speed limit in bytes/s (a decimal string), 0 for none. */
  bandwidthBytes: string;
  /**
   * A commit's images (files) that leave the chain, deleted once the job completes
   * (`blockcommit --delete`; after the pivot of an active commit); absent: none are.
   */
  deleteImages?: string[];
}

/** What the stop of the host's guests does to each (libvirt-guests' `ON_SHUTDOWN`). */
export type GuestsStopAction = "suspend" | "shutdown";

/** What the start of the host's guests did with a listed one. */
export type GuestsStartOutcome = "started" | "already_active" | "failed" | "ignored" | "gone";

/** What a resource change was: the verb's subject. */
export type ResourceChange =
  | "memory"
  | "max_memory"
  | "vcpus"
  | "max_vcpus"
  | "disk_size"
  | "perf"
  | "interface_bandwidth"
  | "schedinfo";

/** The kinds of intent a domain may have pending (see {@linkcode DomainFactBodies}). */
export type IntentKind =
  | "launch"
  | "end"
  | "reboot"
  | "reset"
  | "live_change"
  | "save"
  | "snapshot_create"
  | "snapshot_revert"
  | "snapshot_delete";

/** Every domain fact type. */
export type DomainFactType = keyof DomainFactBodies;

/** A domain fact: its type and body. */
export type DomainFact = {
  [T in DomainFactType]: { type: T; body: DomainFactBodies[T] };
}[DomainFactType];

/**
 * Driver-specific data needed to find a running domain again (pid, monitor socket, …), and,
 * under `live` ({@linkcode LiveFacts}), what the instance's live XML shows beyond its definition.
 */
export type RuntimeRecord = { [key: string]: string | number | boolean | null | LiveFacts };

/** Names of running reasons used in facts. */
export type RunningReasonName =
  | "booted"
  | "unpaused"
  | "restored"
  | "wakeup"
  | "save_canceled"
  | "from_snapshot"
  | "migrated"
  | "migration_canceled"
  | "unknown";
/** Names of paused reasons used in facts. */
export type PausedReasonName =
  | "user"
  | "ioerror"
  | "watchdog"
  | "migration"
  | "save"
  | "snapshot"
  | "from_snapshot"
  | "shutting_down"
  | "crashed"
  | "starting_up"
  | "unknown";
/** Names of shut-off reasons used in facts. */
export type ShutoffReasonName =
  | "shutdown"
  | "destroyed"
  | "crashed"
  | "saved"
  | "failed"
  | "migrated"
  | "daemon"
  | "from_snapshot"
  | "unknown";
// The libvirt event of each fact is in the lifecycle table, beside the state it leads to.
export { type LibvirtEvent, libvirtEventOf } from "./lifecycle_table.ts";

/**
 * What a fact records: a `decision` (changes nothing outside the log, so may simply fail), an
 * `intent` (an action about to be taken, written first so recovery can finish it), or a
 * `happening` (something the hypervisor did or reported, which cannot be taken back).
 */
export type DomainFactKind = "decision" | "intent" | "happening";

/** The kind of every domain fact type; a `Record` so a new fact type cannot be left out. */
export const DOMAIN_FACT_KINDS: Readonly<Record<DomainFactType, DomainFactKind>> = {
  "domain.defined": "decision",
  "domain.undefined": "decision",
  "domain.launched": "happening",
  "domain.started": "happening",
  "domain.suspended": "happening",
  "domain.resumed": "happening",
  "domain.shutdown": "happening",
  "domain.stopped": "happening",
  "domain.crashed": "happening",
  "domain.pmsuspended": "happening",
  "domain.rebooted": "happening",
  "domain.autostart_changed": "decision",
  "domain.renamed": "decision",
  "domain.metadata_changed": "decision",
  "domain.deadline_set": "decision",
  "domain.balloon_changed": "happening",
  "domain.rtc_changed": "happening",
  "domain.watchdog_fired": "happening",
  "domain.io_error": "happening",
  "domain.device_removed": "happening",
  "domain.config_changed": "decision",
  "domain.live_changing": "intent",
  "domain.live_changed": "happening",
  "domain.device_config_changed": "decision",
  "domain.device_attached": "happening",
  "domain.device_updated": "happening",
  "domain.device_removal_requested": "intent",
  "domain.device_removal_failed": "happening",
  "domain.block_job_starting": "intent",
  "domain.block_job_started": "happening",
  "domain.block_job_ready": "happening",
  "domain.block_job_ending": "intent",
  "domain.block_job_ended": "happening",
  "domain.block_job_abandoned": "intent",
  "domain.launching": "intent",
  "domain.ending": "intent",
  "domain.rebooting": "intent",
  "domain.resetting": "intent",
  "domain.intent_abandoned": "intent",
  "domain.saving": "intent",
  "domain.managed_save_recorded": "happening",
  "domain.managed_save_removed": "decision",
  "domain.guests_listed": "intent",
  "domain.guests_unlisted": "decision",
  "domain.migrating": "intent",
  "domain.migration_ended": "happening",
  "domain.snapshot_creating": "intent",
  "domain.snapshot_created": "happening",
  "domain.snapshot_reverting": "intent",
  "domain.snapshot_reverted": "happening",
  "domain.snapshot_deleting": "intent",
  "domain.snapshot_deleted": "happening",
  "domain.snapshot_current_changed": "decision",
};

/** Every domain fact type, for validation of facts read from the log. */
export const DOMAIN_FACT_TYPES: readonly DomainFactType[] = Object.keys(
  DOMAIN_FACT_KINDS,
) as DomainFactType[];

/** Whether `type` is a domain fact type. */
export function isDomainFactType(type: string): type is DomainFactType {
  return (DOMAIN_FACT_TYPES as readonly string[]).includes(type);
}
