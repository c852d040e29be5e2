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

/** Data of SHUTDOWN and RESET: `guest` is true when the guest caused it. */
export interface QmpShutdownData {
  guest: boolean;
  reason: QmpShutdownCause;
}

/** Data of BLOCK_IO_ERROR. */
export interface QmpBlockIoErrorData {
  device: string;
  "node-name"?: string;
  operation: "read" | "write";
  action: "ignore" | "report" | "stop";
  nospace?: boolean;
  reason: string;
}

/** Data of DEVICE_DELETED. */
export interface QmpDeviceDeletedData {
  device?: string;
  path: string;
}

/** Data of BALLOON_CHANGE: the guest's memory now, in bytes. */
export interface QmpBalloonChangeData {
  actual: number;
}

/** Data of RTC_CHANGE: the guest RTC's offset from the host clock, in seconds. */
export interface QmpRtcChangeData {
  offset: number;
}

/** Data of WATCHDOG. */
export interface QmpWatchdogData {
  action: "reset" | "shutdown" | "poweroff" | "pause" | "debug" | "none" | "inject-nmi";
}

/**
 * The data of SHUTDOWN or RESET, with defaults for fields an older QEMU left out: `guest` false,
 * `reason` `none`.
 *
 * @example
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
