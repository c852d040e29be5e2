/**
 * What a driver saw happen to a running instance without being asked: the vocabulary every
 * driver reports in (the QEMU driver reads it out of QMP events, the test hypervisor simulates
 * it). `lifecycle_table.ts` turns each one into the fact the domain records.
 *
 * @module
 */

import type {
  CrashedDetail,
  IoErrorActionName,
  PausedReasonName,
  PmsuspendedDetail,
  ShutdownDetail,
  WatchdogActionName,
} from "./facts.ts";

/** What a driver saw happen to a running instance without being asked. */
export type Observation =
  | { kind: "shutdown"; detail: ShutdownDetail; guestReset?: boolean }
  | { kind: "stopped"; reason: "shutdown" | "crashed" }
  | { kind: "paused"; reason: PausedReasonName }
  | { kind: "resumed" }
  /** The guest was reset; `booted` when the reset ended a reboot, which boots a paused guest too. */
  | { kind: "reset"; booted?: boolean }
  | { kind: "crashed"; detail: CrashedDetail }
  | { kind: "pmsuspended"; detail: PmsuspendedDetail }
  | { kind: "wakeup" }
  | { kind: "balloon"; actualKiB: number }
  | { kind: "rtc"; utcOffsetSeconds: number }
  | { kind: "watchdog"; action: WatchdogActionName }
  | {
    kind: "io_error";
    srcPath: string;
    devAlias: string;
    action: IoErrorActionName;
    reason: string;
  }
  | { kind: "device_removed"; alias: string }
  /**
   * A block job of the disk `disk` (its target) reached its synchronized phase (`ready`) or
   * ended; `error` says why a failed one failed.
   */
  | {
    kind: "block_job";
    disk: string;
    status: "ready" | "completed" | "failed" | "canceled";
    error?: string;
  };

/** Every observation kind. */
export type ObservationKind = Observation["kind"];

/**
 * Observation kinds that report a current value, where only the latest matters: a newer one
 * replaces one still waiting in the domain's queue.
 */
export const SAMPLE_OBSERVATION_KINDS: ReadonlySet<ObservationKind> = new Set([
  "balloon",
  "rtc",
]);
