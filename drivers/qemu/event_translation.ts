/**
 * QMP events → driver observations (pure; reference §3 and the driver protocol). This is the
 * QEMU driver's half of the lifecycle translation; what each observation then is (fact, state
 * and reason, libvirt event) is one table, `src/model/lifecycle_table.ts`.
 *
 * A driver reports only what it did not do on the actor's request, so the translator is told of
 * the driver's own actions before it sends them and uses that to recognise their echoes:
 *
 * - **Run state.** It tracks whether the vCPUs run as far as the actor knows. The driver's own
 *   `cont`/`stop` set it first, so their RESUME/STOP echoes change nothing and are dropped. A STOP
 *   while running is someone else's: it becomes `paused` with the reason the event just before it
 *   gave (BLOCK_IO_ERROR with action stop → `ioerror`, WATCHDOG pause → `watchdog`), else
 *   `unknown`. A RESUME while stopped becomes `resumed`.
 * - **Shutdown.** With `-no-shutdown` QEMU follows SHUTDOWN with STOP: the STOP is part of the
 *   shutdown and is dropped. SHUTDOWN becomes `shutdown` with detail guest (guest true), host
 *   (guest false) or finished (absent), and `guestReset` when the reset became a shutdown
 *   (`-no-reboot`: reason guest-reset, or host-qmp-system-reset).
 * - **Fake reboot.** After {@linkcode EventTranslator.requestFakeReboot}, the guest's SHUTDOWN
 *   asks the driver to reset and continue the guest (`fakeReboot`), reported as one `reset`;
 *   with `on_reboot` destroy or preserve it is a `shutdown` with `guestReset` instead.
 * - **Resets.** QEMU 7.2 emits RESET twice per reset (host, then firmware ~25 ms later): RESETs
 *   less than {@linkcode RESET_FOLD_MS} after the previous one (or after the driver's own reset
 *   request, which the actor records itself) are folded into it.
 * - **Panic.** GUEST_PANICKED becomes `crashed`; the STOP or SHUTDOWN (reason guest-panic) QEMU
 *   then emits belongs to it and is dropped.
 * - **Termination.** Once the driver ends the process, every event is dropped.
 * - **Block jobs.** BLOCK_JOB_READY, BLOCK_JOB_COMPLETED (failed when it carries an error) and
 *   BLOCK_JOB_CANCELLED of evirt's jobs (their id names the disk) become `block_job`.
 *   BLOCK_JOB_ERROR is no observation, as libvirt 9.0 has no handler for it: evirt's jobs run
 *   with QEMU's default `on-error` policy (report; libvirt sets none either), so the error ends
 *   the job and its BLOCK_JOB_COMPLETED carries it — the `failed` block job event a libvirt
 *   client gets. The guest's own I/O errors are BLOCK_IO_ERROR (`io_error`).
 * - POWERDOWN (the driver's own request) is dropped; the other events map one to one.
 *
 * @module
 */

import type { Observation } from "../../actors/driver_protocol.ts";
import type { IoErrorActionName, PausedReasonName } from "../../src/model/facts.ts";
import { WATCHDOG_ACTIONS } from "../../src/model/lifecycle.ts";
import { QmpEventName } from "./qmp_events.ts";
import { diskOfJobId } from "./qemu_block_jobs.ts";
import type { QmpEvent } from "./qmp_protocol.ts";

/** RESETs closer together than this are one reset, in milliseconds. */
export const RESET_FOLD_MS = 1000;

/** What the driver should do for an event besides reporting observations. */
export interface Translation {
  /** Observations to report, in order. */
  observations: Observation[];
  /** Reset the guest and run it again (`system_reset` + `cont`), then report one `reset`. */
  fakeReboot: boolean;
}

/** Where a block node's I/O error should be reported: the disk's alias and source. */
export interface BlockNodeInfo {
  /** The device alias, e.g. `virtio-disk0`. */
  alias: string;
  /** The host source path. */
  sourcePath: string;
}

/** Options of {@linkcode EventTranslator}. */
export interface EventTranslatorOptions {
  /** Whether the vCPUs run now (false right after launch with `-S`). */
  running: boolean;
  /** Whether a reboot of the guest is to end it (`on_reboot` destroy or preserve). */
  rebootEndsDomain: boolean;
  /** Block nodes by node name, for BLOCK_IO_ERROR. */
  blockNodes?: ReadonlyMap<string, BlockNodeInfo>;
  /** Whether the guest already shut down (a reconnect finds QEMU in state `shutdown`). */
  shutdownSeen?: boolean;
}

/**
 * Translates one domain's QMP events, in arrival order.
 *
 * @example An unsolicited STOP after an I/O error
 * ```ts
 * import { EventTranslator } from "./event_translation.ts";
 * const translator = new EventTranslator({ running: true, rebootEndsDomain: false });
 * const at = { seconds: 1, microseconds: 0 };
 * translator.translate({ event: "BLOCK_IO_ERROR", data: { device: "", "node-name": "n", operation: "write", action: "stop", reason: "No space left on device" }, timestamp: at });
 * const { observations } = translator.translate({ event: "STOP", data: {}, timestamp: at });
 * console.log(observations); // [{ kind: "paused", reason: "ioerror" }]
 * ```
 */
export class EventTranslator {
  #running: boolean;
  #rebootEndsDomain: boolean;
  #blockNodes: ReadonlyMap<string, BlockNodeInfo>;
  /** The reason the next unsolicited STOP carries. */
  #stopReason: PausedReasonName | undefined;
  /** STOPs that belong to a shutdown or panic just reported. */
  #absorbStop = false;
  #panicked = false;
  #fakeReboot = false;
  #terminating = false;
  #shutdownSeen = false;
  /** When the last reset happened (event or own request), in ms since the epoch. */
  #lastResetMs = Number.NEGATIVE_INFINITY;

  /** @param options The run state now, the reboot policy and the block nodes. */
  constructor(options: EventTranslatorOptions) {
    this.#running = options.running;
    this.#rebootEndsDomain = options.rebootEndsDomain;
    this.#blockNodes = options.blockNodes ?? new Map();
    this.#shutdownSeen = options.shutdownSeen ?? false;
  }

  /** Whether the vCPUs run, as far as the actor knows. */
  get running(): boolean {
    return this.#running;
  }

  /** Whether the guest shut down (SHUTDOWN seen) since launch or the last fake reboot. */
  get shutdownSeen(): boolean {
    return this.#shutdownSeen;
  }

  /** Whether the driver is ending the process. */
  get terminating(): boolean {
    return this.#terminating;
  }

  /** Whether a fake reboot is pending. */
  get fakeRebootPending(): boolean {
    return this.#fakeReboot;
  }

  /**
   * The driver is about to `cont` on the actor's request (or for a fake reboot).
   *
   * @returns An undo for when the command fails.
   */
  ownResume(): () => void {
    const before = this.#running;
    this.#running = true;
    return () => this.#running = before;
  }

  /**
   * The driver is about to `stop` on the actor's request.
   *
   * @returns An undo for when the command fails.
   */
  ownPause(): () => void {
    const before = this.#running;
    this.#running = false;
    return () => this.#running = before;
  }

  /** The driver is about to `system_reset` at `nowMs` (ms since the epoch). */
  ownReset(nowMs: number): void {
    this.#lastResetMs = nowMs;
  }

  /**
   * The driver is about to send `system_powerdown` for a reboot.
   *
   * @returns An undo for when the command fails.
   */
  requestFakeReboot(): () => void {
    this.#fakeReboot = true;
    return () => this.#fakeReboot = false;
  }

  /**
   * The driver is ending the process: every later event is dropped.
   *
   * @returns An undo for when the process survives (a graceful end that failed).
   */
  beginTermination(): () => void {
    this.#terminating = true;
    return () => this.#terminating = false;
  }

  /**
   * Translates one event.
   *
   * @param event The QMP event.
   * @returns The observations and whether to do a fake reboot.
   */
  translate(event: QmpEvent): Translation {
    const none: Translation = { observations: [], fakeReboot: false };
    if (this.#terminating) return none;
    const observe = (...observations: Observation[]): Translation => ({
      observations,
      fakeReboot: false,
    });
    const data = event.data;
    switch (event.event) {
      case QmpEventName.STOP:
        return observe(...this.#stop());
      case QmpEventName.RESUME:
        return observe(...this.#resume());
      case QmpEventName.SHUTDOWN:
        return this.#shutdown(event);
      case QmpEventName.RESET:
        return observe(...this.#reset(eventMs(event)));
      case QmpEventName.POWERDOWN:
        return none;
      case QmpEventName.GUEST_PANICKED:
        this.#panicked = true;
        this.#absorbStop = true;
        this.#running = false;
        return observe({ kind: "crashed", detail: "panicked" });
      case QmpEventName.WATCHDOG: {
        const action = WATCHDOG_ACTIONS.find((name) => name === data.action) ?? "none";
        if (action === "pause") this.#stopReason = "watchdog";
        return observe({ kind: "watchdog", action });
      }
      case QmpEventName.BLOCK_IO_ERROR:
        return observe(this.#ioError(data));
      case QmpEventName.DEVICE_DELETED:
        return typeof data.device === "string" && data.device !== ""
          ? observe({ kind: "device_removed", alias: data.device })
          : none;
      case QmpEventName.BLOCK_JOB_READY:
      case QmpEventName.BLOCK_JOB_COMPLETED:
      case QmpEventName.BLOCK_JOB_CANCELLED:
        return observe(...blockJobObservation(event.event, data));
      case QmpEventName.BLOCK_JOB_ERROR:
        // The job's end tells the failure (see the module notes).
        return none;
      case QmpEventName.BALLOON_CHANGE:
        return typeof data.actual === "number"
          ? observe({ kind: "balloon", actualKiB: Math.floor(data.actual / 1024) })
          : none;
      case QmpEventName.RTC_CHANGE:
        return typeof data.offset === "number"
          ? observe({ kind: "rtc", utcOffsetSeconds: data.offset })
          : none;
      case QmpEventName.SUSPEND:
      case QmpEventName.SUSPEND_DISK:
        this.#running = false;
        return observe({
          kind: "pmsuspended",
          detail: event.event === QmpEventName.SUSPEND ? "memory" : "disk",
        });
      case QmpEventName.WAKEUP:
        this.#running = true;
        return observe({ kind: "wakeup" });
      default:
        return none;
    }
  }

  #stop(): Observation[] {
    const reason = this.#stopReason;
    this.#stopReason = undefined;
    if (this.#absorbStop) {
      // The shutdown or panic already stopped the run state; a fake reboot may have run the
      // vCPUs again since, which this late STOP must not undo.
      this.#absorbStop = false;
      return [];
    }
    if (!this.#running) return [];
    this.#running = false;
    return [{ kind: "paused", reason: reason ?? "unknown" }];
  }

  #resume(): Observation[] {
    if (this.#running) return [];
    this.#running = true;
    this.#panicked = false;
    return [{ kind: "resumed" }];
  }

  #shutdown(event: QmpEvent): Translation {
    const { guest, reason } = event.data;
    if (this.#panicked && reason === "guest-panic") {
      this.#absorbStop = this.#running || this.#absorbStop;
      this.#running = false;
      return { observations: [], fakeReboot: false };
    }
    // With -no-shutdown, the vCPUs stop right after (STOP follows if they ran).
    this.#absorbStop = this.#running;
    this.#running = false;
    const guestReset = reason === "guest-reset" || reason === "host-qmp-system-reset";
    const detail = guest === true ? "guest" : guest === false ? "host" : "finished";
    if (this.#fakeReboot) {
      this.#fakeReboot = false;
      if (!this.#rebootEndsDomain) return { observations: [], fakeReboot: true };
      this.#shutdownSeen = true;
      return {
        observations: [{ kind: "shutdown", detail, guestReset: true }],
        fakeReboot: false,
      };
    }
    this.#shutdownSeen = true;
    return {
      observations: [{ kind: "shutdown", detail, ...(guestReset ? { guestReset: true } : {}) }],
      fakeReboot: false,
    };
  }

  #reset(atMs: number): Observation[] {
    const folded = atMs - this.#lastResetMs < RESET_FOLD_MS;
    this.#lastResetMs = Math.max(this.#lastResetMs, atMs);
    return folded ? [] : [{ kind: "reset" }];
  }

  #ioError(data: Record<string, unknown>): Observation {
    const nodeName = typeof data["node-name"] === "string" ? data["node-name"] : "";
    const device = typeof data.device === "string" ? data.device : "";
    const node = this.#blockNodes.get(nodeName);
    const qemuAction = data.action;
    const action: IoErrorActionName = qemuAction === "stop"
      ? "pause"
      : qemuAction === "report"
      ? "report"
      : "none";
    if (action === "pause") this.#stopReason = "ioerror";
    return {
      kind: "io_error",
      srcPath: node?.sourcePath ?? "",
      devAlias: node?.alias ?? device,
      action,
      reason: typeof data.reason === "string" ? data.reason : "",
    };
  }

  /** Marks the end of a fake reboot: the guest runs again and has not shut down. */
  fakeRebootDone(): void {
    this.#shutdownSeen = false;
  }
}

/** A block job event of one of evirt's jobs (named after its disk); others are not ours. */
function blockJobObservation(name: string, data: Record<string, unknown>): Observation[] {
  const disk = typeof data.device === "string" ? diskOfJobId(data.device) : undefined;
  if (disk === undefined) return [];
  if (name === QmpEventName.BLOCK_JOB_READY) return [{ kind: "block_job", disk, status: "ready" }];
  if (name === QmpEventName.BLOCK_JOB_CANCELLED) {
    return [{ kind: "block_job", disk, status: "canceled" }];
  }
  if (typeof data.error === "string") {
    return [{ kind: "block_job", disk, status: "failed", error: data.error }];
  }
  return [{ kind: "block_job", disk, status: "completed" }];
}

/**
 * An event's QEMU timestamp in ms since the epoch.
 *
 * @example
 * ```ts
 * import { eventMs } from "./event_translation.ts";
 * console.log(eventMs({ event: "RESET", data: {}, timestamp: { seconds: 2, microseconds: 500 } })); // 2000.5
 * ```
 */
export function eventMs(event: QmpEvent): number {
  return event.timestamp.seconds * 1000 + event.timestamp.microseconds / 1000;
}
