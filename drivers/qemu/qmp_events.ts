/**
 * Names and payloads of the QMP events evirt acts on (QEMU 7.2), so the driver compares against
 * constants and reads typed data instead of poking at `event.data`. Mapping events to libvirt
 * states and lifecycle events is the driver's job (reference §3); this file only describes QEMU.
 *
 * @module
 */

import type { QmpEvent } from "./qmp_protocol.ts";

/** QMP event names evirt handles. */
export const QmpEventName = {
  /** Guest or host asked for shutdown; with `-no-shutdown` QEMU then stops instead of exiting. */
  SHUTDOWN: "SHUTDOWN",
  /** `system_powerdown` pressed the ACPI power button. */
  POWERDOWN: "POWERDOWN",
  /** The machine was reset (QEMU 7.2: twice per `system_reset`, host then firmware). */
  RESET: "RESET",
  /** vCPUs stopped. */
  STOP: "STOP",
  /** vCPUs resumed. */
  RESUME: "RESUME",
  /** Guest entered S3. */
  SUSPEND: "SUSPEND",
  /** Guest entered S4. */
  SUSPEND_DISK: "SUSPEND_DISK",
  /** Guest woke from S3. */
  WAKEUP: "WAKEUP",
  /** The guest panicked (pvpanic / Hyper-V crash MSRs). */
  GUEST_PANICKED: "GUEST_PANICKED",
  /** The watchdog fired. */
  WATCHDOG: "WATCHDOG",
  /** A block device hit an I/O error. */
  BLOCK_IO_ERROR: "BLOCK_IO_ERROR",
  /** A device finished unplugging after `device_del`. */
  DEVICE_DELETED: "DEVICE_DELETED",
  /** The balloon reached a new size. */
  BALLOON_CHANGE: "BALLOON_CHANGE",
  /** The guest changed its RTC. */
  RTC_CHANGE: "RTC_CHANGE",
  /** A block job reached its synchronized phase (mirror, active commit). */
  BLOCK_JOB_READY: "BLOCK_JOB_READY",
  /** A block job ended, done or (with `error`) failed. */
  BLOCK_JOB_COMPLETED: "BLOCK_JOB_COMPLETED",
  /** A block job was cancelled. */
  BLOCK_JOB_CANCELLED: "BLOCK_JOB_CANCELLED",
  /**
   * A block job hit an I/O error (`operation` read or write) and acted on it by its `on-error`
   * policy (`action`: report, ignore, stop).
   */
  BLOCK_JOB_ERROR: "BLOCK_JOB_ERROR",
} as const;

/** One of {@linkcode QmpEventName}'s values. */
export type QmpEventNameValue = typeof QmpEventName[keyof typeof QmpEventName];

/** `ShutdownCause` values of SHUTDOWN and RESET. */
export type QmpShutdownCause =
  | "none"
  | "host-error"
  | "host-qmp-quit"
  | "host-qmp-system-reset"
  | "host-signal"
  | "host-ui"
  | "guest-shutdown"
  | "guest-reset"
  | "guest-panic"
  | "subsystem-reset"
  | "snapshot-load";

/** Data of SHUTDOWN and RESET. */
export interface QmpShutdownData {
  /** True when the guest caused it (ACPI poweroff, triple fault…), false for the host. */
  guest: boolean;
  /** The cause, e.g. `guest-shutdown`, `host-signal`, `host-qmp-system-reset`. */
  reason: QmpShutdownCause;
}

/** Data of BLOCK_IO_ERROR. */
export interface QmpBlockIoErrorData {
  /** Backend name (may be empty with `-blockdev`). */
  device: string;
  /** The node that failed. */
  "node-name"?: string;
  /** What failed. */
  operation: "read" | "write";
  /** What QEMU did about it (`stop` pauses the domain). */
  action: "ignore" | "report" | "stop";
  /** True when the host ran out of space (ENOSPC). */
  nospace?: boolean;
  /** The host error text. */
  reason: string;
}

/** Data of DEVICE_DELETED. */
export interface QmpDeviceDeletedData {
  /** The device id, when it had one. */
  device?: string;
  /** The device's QOM path. */
  path: string;
}

/** Data of BALLOON_CHANGE. */
export interface QmpBalloonChangeData {
  /** The guest's memory now, in bytes. */
  actual: number;
}

/** Data of RTC_CHANGE. */
export interface QmpRtcChangeData {
  /** The guest RTC's offset from the host clock, in seconds. */
  offset: number;
}

/** Data of WATCHDOG. */
export interface QmpWatchdogData {
  /** The action the watchdog took. */
  action: "reset" | "shutdown" | "poweroff" | "pause" | "debug" | "none" | "inject-nmi";
}

/**
 * The data of SHUTDOWN or RESET, with defaults for fields an older QEMU left out: `guest` false,
 * `reason` `none`.
 *
 * @example Reading a guest shutdown
 * ```ts
 * import { shutdownData } from "./qmp_events.ts";
 * const data = shutdownData({
 *   event: "SHUTDOWN",
 *   data: { guest: true, reason: "guest-shutdown" },
 *   timestamp: { seconds: 0, microseconds: 0 },
 * });
 * console.log(data.guest, data.reason); // true "guest-shutdown"
 * ```
 */
export function shutdownData(event: QmpEvent): QmpShutdownData {
  const { guest, reason } = event.data;
  return {
    guest: guest === true,
    reason: typeof reason === "string" ? reason as QmpShutdownCause : "none",
  };
}
