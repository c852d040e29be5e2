/**
 * libvirt's domain states, state reasons, lifecycle event types and details, and event ids.
 *
 * The numbers are the API (reference §1–2): clients compare them, so evirt uses libvirt's values
 * and virsh's printed names.
 *
 * @module
 */

/** virDomainState values. */
export const DomainState = {
  NOSTATE: 0,
  RUNNING: 1,
  BLOCKED: 2,
  PAUSED: 3,
  SHUTDOWN: 4,
  SHUTOFF: 5,
  CRASHED: 6,
  PMSUSPENDED: 7,
} as const;

/** One of the {@linkcode DomainState} values. */
export type DomainStateValue = typeof DomainState[keyof typeof DomainState];

/** What virsh prints for each state, indexed by value. */
export const STATE_NAMES: readonly string[] = [
  "no state",
  "running",
  "idle",
  "paused",
  "in shutdown",
  "shut off",
  "crashed",
  "pmsuspended",
];

/** Reason values per state, by libvirt enum name. */
export const RunningReason = {
  UNKNOWN: 0,
  BOOTED: 1,
  MIGRATED: 2,
  RESTORED: 3,
  FROM_SNAPSHOT: 4,
  UNPAUSED: 5,
  MIGRATION_CANCELED: 6,
  SAVE_CANCELED: 7,
  WAKEUP: 8,
  CRASHED: 9,
  POSTCOPY: 10,
  POSTCOPY_FAILED: 11,
} as const;

/** virDomainPausedReason values. */
export const PausedReason = {
  UNKNOWN: 0,
  USER: 1,
  MIGRATION: 2,
  SAVE: 3,
  DUMP: 4,
  IOERROR: 5,
  WATCHDOG: 6,
  FROM_SNAPSHOT: 7,
  SHUTTING_DOWN: 8,
  SNAPSHOT: 9,
  CRASHED: 10,
  STARTING_UP: 11,
  POSTCOPY: 12,
  POSTCOPY_FAILED: 13,
} as const;

/** virDomainShutdownReason values. */
export const ShutdownReason = { UNKNOWN: 0, USER: 1 } as const;

/** virDomainShutoffReason values. */
export const ShutoffReason = {
  UNKNOWN: 0,
  SHUTDOWN: 1,
  DESTROYED: 2,
  CRASHED: 3,
  MIGRATED: 4,
  SAVED: 5,
  FAILED: 6,
  FROM_SNAPSHOT: 7,
  DAEMON: 8,
} as const;

/** virDomainCrashedReason values. */
export const CrashedReason = { UNKNOWN: 0, PANICKED: 1 } as const;

/** What virsh prints for each reason, indexed by state value, then reason value. */
export const REASON_NAMES: readonly (readonly string[])[] = [
  ["unknown"],
  [
    "unknown",
    "booted",
    "migrated",
    "restored",
    "from snapshot",
    "unpaused",
    "migration canceled",
    "save canceled",
    "event wakeup",
    "crashed",
    "post-copy",
    "post-copy failed",
  ],
  ["unknown"],
  [
    "unknown",
    "user",
    "migrating",
    "saving",
    "dumping",
    "I/O error",
    "watchdog",
    "from snapshot",
    "shutting down",
    "creating snapshot",
    "crashed",
    "starting up",
    "post-copy",
    "post-copy failed",
  ],
  ["unknown", "user"],
  [
    "unknown",
    "shutdown",
    "destroyed",
    "crashed",
    "migrated",
    "saved",
    "failed",
    "from snapshot",
    "daemon",
  ],
  ["unknown", "panicked"],
  ["unknown"],
];

/**
 * virsh's name of a state, e.g. `shut off` for 5.
 *
 * @example
 * ```ts
 * import { stateName } from "./lifecycle.ts";
 * console.log(stateName(5)); // "shut off"
 * ```
 */
export function stateName(state: number): string {
  return STATE_NAMES[state] ?? "no state";
}

/**
 * virsh's name of a reason within a state, e.g. `booted` for (1, 1).
 *
 * @example
 * ```ts
 * import { reasonName } from "./lifecycle.ts";
 * console.log(reasonName(3, 5)); // "I/O error"
 * ```
 */
export function reasonName(state: number, reason: number): string {
  return REASON_NAMES[state]?.[reason] ?? "unknown";
}

/** virDomainEventType values (event id 0, LIFECYCLE). */
export const LifecycleType = {
  DEFINED: 0,
  UNDEFINED: 1,
  STARTED: 2,
  SUSPENDED: 3,
  RESUMED: 4,
  STOPPED: 5,
  SHUTDOWN: 6,
  PMSUSPENDED: 7,
  CRASHED: 8,
} as const;

/** One of the {@linkcode LifecycleType} values. */
export type LifecycleTypeValue = typeof LifecycleType[keyof typeof LifecycleType];

/** virsh's name of each lifecycle type (`virsh event` prints these), indexed by value. */
export const LIFECYCLE_TYPE_NAMES: readonly string[] = [
  "Defined",
  "Undefined",
  "Started",
  "Suspended",
  "Resumed",
  "Stopped",
  "Shutdown",
  "PMSuspended",
  "Crashed",
];

/** The detail names of each lifecycle type, indexed by type, then detail value. */
export const LIFECYCLE_DETAIL_NAMES: readonly (readonly string[])[] = [
  ["Added", "Updated", "Renamed", "Snapshot"],
  ["Removed", "Renamed"],
  ["Booted", "Migrated", "Restored", "Snapshot", "Event wakeup"],
  [
    "Paused",
    "Migrated",
    "I/O Error",
    "Watchdog",
    "Restored",
    "Snapshot",
    "API error",
    "Post-copy",
    "Post-copy Error",
  ],
  ["Unpaused", "Migrated", "Snapshot", "Post-copy", "Post-copy Error"],
  ["Shutdown", "Destroyed", "Crashed", "Migrated", "Saved", "Failed", "Snapshot"],
  ["Finished", "Finished after guest request", "Finished after host request"],
  ["Memory", "Disk"],
  ["Panicked", "Crashloaded"],
];

/** Lifecycle detail values, per type, by libvirt enum suffix. */
export const LifecycleDetail = {
  DEFINED: { ADDED: 0, UPDATED: 1, RENAMED: 2, FROM_SNAPSHOT: 3 },
  UNDEFINED: { REMOVED: 0, RENAMED: 1 },
  STARTED: { BOOTED: 0, MIGRATED: 1, RESTORED: 2, FROM_SNAPSHOT: 3, WAKEUP: 4 },
  SUSPENDED: {
    PAUSED: 0,
    MIGRATED: 1,
    IOERROR: 2,
    WATCHDOG: 3,
    RESTORED: 4,
    FROM_SNAPSHOT: 5,
    API_ERROR: 6,
    POSTCOPY: 7,
    POSTCOPY_FAILED: 8,
  },
  RESUMED: { UNPAUSED: 0, MIGRATED: 1, FROM_SNAPSHOT: 2, POSTCOPY: 3, POSTCOPY_FAILED: 4 },
  STOPPED: {
    SHUTDOWN: 0,
    DESTROYED: 1,
    CRASHED: 2,
    MIGRATED: 3,
    SAVED: 4,
    FAILED: 5,
    FROM_SNAPSHOT: 6,
  },
  SHUTDOWN: { FINISHED: 0, GUEST: 1, HOST: 2 },
  PMSUSPENDED: { MEMORY: 0, DISK: 1 },
  CRASHED: { PANICKED: 0, CRASHLOADED: 1 },
} as const;

/**
 * virsh's name of a lifecycle type and detail, e.g. `Started Booted`.
 *
 * @example
 * ```ts
 * import { lifecycleName } from "./lifecycle.ts";
 * console.log(lifecycleName(5, 1)); // "Stopped Destroyed"
 * ```
 */
export function lifecycleName(type: number, detail: number): string {
  const typeName = LIFECYCLE_TYPE_NAMES[type] ?? "Unknown";
  const detailName = LIFECYCLE_DETAIL_NAMES[type]?.[detail] ?? "Unknown";
  return `${typeName} ${detailName}`;
}

/** virDomainEventID values by virsh `event --list` name (reference §2). */
export const EVENT_IDS: readonly string[] = [
  "lifecycle",
  "reboot",
  "rtc-change",
  "watchdog",
  "io-error",
  "graphics",
  "io-error-reason",
  "control-error",
  "block-job",
  "disk-change",
  "tray-change",
  "pm-wakeup",
  "pm-suspend",
  "balloon-change",
  "pm-suspend-disk",
  "device-removed",
  "block-job-2",
  "tunable",
  "agent-lifecycle",
  "device-added",
  "migration-iteration",
  "job-completed",
  "device-removal-failed",
  "metadata-change",
  "block-threshold",
  "memory-failure",
  "memory-device-size-change",
];

/** Event ids used by evirt, by libvirt enum suffix. */
export const EventId = {
  LIFECYCLE: 0,
  REBOOT: 1,
  RTC_CHANGE: 2,
  WATCHDOG: 3,
  IO_ERROR: 4,
  IO_ERROR_REASON: 6,
  BLOCK_JOB: 8,
  PMWAKEUP: 11,
  PMSUSPEND: 12,
  BALLOON_CHANGE: 13,
  PMSUSPEND_DISK: 14,
  DEVICE_REMOVED: 15,
  BLOCK_JOB_2: 16,
  DEVICE_ADDED: 19,
  DEVICE_REMOVAL_FAILED: 22,
  METADATA_CHANGE: 23,
} as const;

/**
 * The event id of a virsh event name, or undefined.
 *
 * @example
 * ```ts
 * import { eventIdOf } from "./lifecycle.ts";
 * console.log(eventIdOf("reboot")); // 1
 * ```
 */
export function eventIdOf(name: string): number | undefined {
  const index = EVENT_IDS.indexOf(name);
  return index === -1 ? undefined : index;
}

/** Watchdog actions (event id 3), indexed by value. */
export const WATCHDOG_ACTIONS = [
  "none",
  "pause",
  "reset",
  "poweroff",
  "shutdown",
  "debug",
  "inject-nmi",
] as const;

/** A watchdog action name. */
export type WatchdogActionName = typeof WATCHDOG_ACTIONS[number];

/** I/O error actions (event ids 4 and 6), indexed by value. */
export const IO_ERROR_ACTIONS = ["none", "pause", "report"] as const;

/** An I/O error action name. */
export type IoErrorActionName = typeof IO_ERROR_ACTIONS[number];

/** Metadata change kinds (event id 23), indexed by value. */
export const METADATA_KINDS: readonly string[] = ["description", "title", "element"];
