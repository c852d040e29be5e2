/**
 * The host's guests stopped and started as a whole, as libvirt-guests does it
 * (`libvirt-guests.sh stop` and `start`, its settings in `src/config/guests_policy.ts`).
 *
 * - **Stop** (`evirt host shutdown-guests`, the systemd unit's `ExecStop` when installed with
 *   it): the active guests are listed — with `ON_SHUTDOWN=suspend` the persistent ones only,
 *   as libvirt-guests leaves transient guests running — and every one of them is recorded on
 *   the list (`domain.guests_listed`) before any is acted on. Then each is managed-saved
 *   (`suspend`) or asked to shut down (`shutdown`: one after the other, each given
 *   `SHUTDOWN_TIMEOUT`; or `PARALLEL_SHUTDOWN` at once, all of them given `SHUTDOWN_TIMEOUT`).
 *   A guest that does not shut down in time is reported and left running, as libvirt-guests
 *   leaves it (nothing is destroyed).
 * - **Start** (the service's start; `evirt host start-guests`): with `ON_BOOT=start` each listed
 *   guest is started (a managed save image is restored) unless it is active already — an
 *   autostart guest the service started first is not started twice — `START_DELAY` seconds
 *   apart, its clock set by its agent with `SYNC_TIME`; with `ON_BOOT=ignore` the list is
 *   dropped. Each guest leaves the list with the outcome (`domain.guests_unlisted`).
 *
 * The list lives in the domains' own facts, so a crash in the middle of a stop is explained by
 * the log: every listed guest is either still running or managed-saved (an interrupted save is
 * finished or undone by the save's own recovery), and the next start takes up the list.
 *
 * Each pass writes libvirt-guests' lines (its wording, with the service's URI where it names
 * `default`), kept for the API and sent to the service's log.
 *
 * @module
 */

import type { GuestsPolicy } from "../src/config/guests_policy.ts";
import { ErrorCode, VirtError } from "../src/model/errors.ts";
import type { GuestsStartOutcome, GuestsStopAction } from "../src/model/facts.ts";
import type { DomainSummary } from "../src/model/domain_list.ts";
import { exists, isActive } from "./domain_machine.ts";
import { syncGuestTime } from "./guest_commands.ts";
import type { Host } from "./host.ts";

/** The URI libvirt-guests names in its lines: the service's own. */
export const GUESTS_URI = "evirt:///system";

/** Lines a pass keeps (libvirt-guests writes a few per guest and one every 5 s of waiting). */
export const GUESTS_PASS_LINES_MAX = 10_000;

/** libvirt-guests reports a wait every this many seconds. */
const REPORT_EVERY_SECONDS = 5;

/** How long a pass waits for a busy guest's queue, in ms. */
const GUESTS_QUEUE_TIMEOUT_MS = 60_000;

/** One second, libvirt-guests' `sleep 1`. */
const TICK_MS = 1000;

/** A guest on the list. */
export interface ListedGuest {
  uuid: string;
  name: string;
  /** What the stop that listed it did: `suspend` or `shutdown`. */
  action: GuestsStopAction;
  /** Its place in the list. */
  order: number;
  active: boolean;
  managedSave: boolean;
}

/** The last (or running) pass. */
export interface GuestsPass {
  kind: "stop" | "start";
  /** `suspend` or `shutdown` for a stop; `start` or `ignore` for a start. */
  action: GuestsStopAction | "start" | "ignore";
  running: boolean;
  /** libvirt-guests' exit status would be 1 (an action failed, or a parallel shutdown timed out). */
  failed: boolean;
  startedAtMs: number;
  endedAtMs: number | null;
  /** The lines from `firstLine` on. */
  lines: string[];
  /** The index of `lines[0]` in the pass's lines. */
  firstLine: number;
  /** How many lines the pass wrote so far. */
  lineCount: number;
}

/** What `GET /v1/host/guests` answers. */
export interface GuestsView {
  /** The guests on the list, in its order. */
  listed: ListedGuest[];
  /** The last pass since the service started, or null. */
  pass: GuestsPass | null;
}

/** Options of {@linkcode HostGuests}. */
export interface HostGuestsOptions {
  host: Host;
  policy: GuestsPolicy;
  /** Where each line also goes (the service's log). */
  log?: (line: string) => void;
  /** Waits (START_DELAY, the shutdown ticks); default a timer that the close cuts short. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

interface PassState {
  kind: GuestsPass["kind"];
  action: GuestsPass["action"];
  failed: boolean;
  startedAtMs: number;
  endedAtMs: number | null;
  lines: string[];
  done: Promise<void>;
}

/**
 * The stops and starts of the host's guests.
 *
 * @example
 * ```ts ignore
 * const guests = new HostGuests({ host, policy: loadGuestsPolicy(env), log });
 * await guests.stop();             // the list is recorded; the pass runs on
 * await guests.settled();          // every guest saved or shut down (or reported)
 * ```
 */
export class HostGuests {
  readonly #options: HostGuestsOptions;
  readonly #closing = new AbortController();
  readonly #listeners = new Set<() => void>();
  #pass: PassState | null = null;

  constructor(options: HostGuestsOptions) {
    this.#options = options;
  }

  /** The guests on the list and the last pass's lines from `afterLine` on. */
  view(afterLine = 0): GuestsView {
    const pass = this.#pass;
    const first = Math.max(0, Math.min(afterLine, pass?.lines.length ?? 0));
    return {
      listed: this.listed(),
      pass: pass === null ? null : {
        kind: pass.kind,
        action: pass.action,
        running: pass.endedAtMs === null,
        failed: pass.failed,
        startedAtMs: pass.startedAtMs,
        endedAtMs: pass.endedAtMs,
        lines: pass.lines.slice(first),
        firstLine: first,
        lineCount: pass.lines.length,
      },
    };
  }

  /** The guests on the list, in its order. */
  listed(): ListedGuest[] {
    const { host } = this.#options;
    const listed: ListedGuest[] = [];
    for (const summary of host.list()) {
      const entry = host.context(summary.uuid).guestsListed;
      if (entry === null || entry === undefined) continue;
      listed.push({
        uuid: summary.uuid,
        name: summary.name,
        action: entry.action,
        order: entry.order,
        active: summary.active,
        managedSave: summary.managedSave === true,
      });
    }
    return listed.sort((a, b) => a.order - b.order || a.name.localeCompare(b.name));
  }

  /**
   * Resolves once the running pass wrote a line after `afterLine` or ended, or after
   * `timeoutMs` (at once when no pass runs).
   */
  changed(afterLine: number, timeoutMs: number): Promise<void> {
    const pass = this.#pass;
    if (pass === null || pass.endedAtMs !== null || pass.lines.length > afterLine) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#listeners.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.#listeners.add(done);
    });
  }

  /** Resolves once no pass runs. */
  async settled(): Promise<void> {
    await this.#pass?.done;
  }

  /**
   * Stops the host's guests (libvirt-guests `stop`): records the list, then acts on it in the
   * background. Resolves once every listed guest's listing is durable.
   *
   * @param action `ON_SHUTDOWN` for this stop; default the policy's.
   * @throws {VirtError} Code 55 while a pass runs.
   */
  async stop(action: GuestsStopAction = this.#options.policy.onShutdown): Promise<GuestsView> {
    const listing = Promise.withResolvers<void>();
    this.#begin("stop", action, async (pass) => {
      let listed: DomainSummary[];
      try {
        listed = await this.#recordList(pass, action);
      } finally {
        listing.resolve();
      }
      if (listed.length === 0) return;
      if (action === "suspend") {
        this.#say(pass, `Suspending guests on ${GUESTS_URI} URI...`);
        for (const guest of listed) {
          if (this.#closing.signal.aborted) return;
          await this.#suspend(pass, guest);
        }
        return;
      }
      this.#say(pass, `Shutting down guests on ${GUESTS_URI} URI...`);
      if (this.#options.policy.parallelShutdown > 1) {
        await this.#shutdownParallel(pass, listed);
        return;
      }
      for (const guest of listed) {
        if (this.#closing.signal.aborted) return;
        await this.#shutdown(pass, guest);
      }
    });
    await listing.promise;
    return this.view();
  }

  /**
   * Starts the listed guests (libvirt-guests `start`, the service's start): with `ON_BOOT=start`
   * each that is not active is started; with `ignore` the list is dropped. Runs in the
   * background; {@linkcode settled} waits for it.
   *
   * @throws {VirtError} Code 55 while a pass runs.
   */
  start(): GuestsView {
    const { policy } = this.#options;
    this.#begin("start", policy.onBoot, async (pass) => {
      const listed = this.listed();
      if (listed.length === 0) return;
      if (policy.onBoot !== "start") {
        this.#say(pass, "evirt is configured not to start any guests on boot");
        for (const guest of listed) await this.#unlist(pass, guest, "ignored");
        return;
      }
      this.#say(pass, `Resuming guests on ${GUESTS_URI} URI...`);
      let first = true;
      for (const guest of listed) {
        if (this.#closing.signal.aborted) return;
        const label = `Resuming guest ${guest.name}: `;
        const summary = this.#summary(guest.uuid);
        if (summary === undefined) {
          this.#say(pass, `${label}error: no domain with matching uuid '${guest.uuid}'`);
          continue;
        }
        if (summary.active) {
          this.#say(pass, `${label}already active`);
          await this.#unlist(pass, guest, "already_active");
        } else {
          if (!first) await this.#sleep(policy.startDelaySeconds * 1000);
          first = false;
          if (this.#closing.signal.aborted) return;
          try {
            await this.#options.host.start(guest.uuid, {
              queueTimeoutMs: GUESTS_QUEUE_TIMEOUT_MS,
              bypassCache: policy.bypassCache,
            });
            this.#say(pass, `${label}done`);
            await this.#unlist(pass, guest, "started");
          } catch (error) {
            pass.failed = true;
            this.#say(pass, `${label}error: ${(error as Error).message}`);
            // libvirt-guests drops its whole list after a start, failed guests too.
            if (!this.#closing.signal.aborted) await this.#unlist(pass, guest, "failed");
          }
        }
        if (policy.syncTime && this.#summary(guest.uuid)?.active) {
          try {
            await syncGuestTime(this.#options.host.inspect(guest.uuid), this.#closing.signal);
          } catch (error) {
            // libvirt-guests shows virsh's error and carries on; its status stays.
            this.#say(pass, `error: ${guest.name}: ${(error as Error).message}`);
          }
        }
      }
    });
    return this.view();
  }

  /** Stops acting on further guests and waits for the guest being acted on. */
  async close(): Promise<void> {
    this.#closing.abort();
    await this.settled();
  }

  #begin(
    kind: PassState["kind"],
    action: PassState["action"],
    work: (pass: PassState) => Promise<void>,
  ): void {
    if (this.#closing.signal.aborted) {
      throw new VirtError(ErrorCode.OPERATION_ABORTED, "the service is stopping");
    }
    const running = this.#pass;
    if (running !== null && running.endedAtMs === null) {
      throw new VirtError(
        ErrorCode.OPERATION_INVALID,
        `the host's guests are being ${running.kind === "stop" ? "stopped" : "started"} (since ${
          new Date(running.startedAtMs).toISOString()
        })`,
      );
    }
    const pass: PassState = {
      kind,
      action,
      failed: false,
      startedAtMs: Date.now(),
      endedAtMs: null,
      lines: [],
      done: Promise.resolve(),
    };
    this.#pass = pass;
    pass.done = work(pass).catch((error) => {
      pass.failed = true;
      this.#say(pass, `error: ${(error as Error).message}`);
    }).finally(() => {
      pass.endedAtMs = Date.now();
      this.#notify();
    });
  }

  /** Lists the active guests and records each on the list; answers those recorded. */
  async #recordList(pass: PassState, action: GuestsStopAction): Promise<DomainSummary[]> {
    const { host } = this.#options;
    let running = host.list({ active: true });
    this.#say(
      pass,
      `Running guests on ${GUESTS_URI} URI: ${
        running.length === 0 ? "no running guests." : running.map((each) => each.name).join(", ")
      }`,
    );
    if (action === "suspend") {
      const transient = running.filter((each) => !each.persistent);
      if (transient.length > 0) {
        this.#say(
          pass,
          `Not suspending transient guests on URI: ${GUESTS_URI}: ${
            transient.map((each) => each.name).join(", ")
          }`,
        );
      }
      running = running.filter((each) => each.persistent);
    }
    const recorded: DomainSummary[] = [];
    for (const [order, guest] of running.entries()) {
      try {
        const listed = await host.runJob(guest.uuid, "list the guest", async (job) => {
          if (!isActive(job.snapshot)) return false;
          await job.append([{ type: "domain.guests_listed", body: { action, order } }]);
          return true;
        }, { queueTimeoutMs: GUESTS_QUEUE_TIMEOUT_MS });
        if (listed) recorded.push(guest);
      } catch (error) {
        pass.failed = true;
        this.#say(pass, `error: ${guest.name}: ${(error as Error).message}`);
      }
    }
    return recorded;
  }

  /** libvirt-guests' `suspend_guest`: a managed save, a line every 5 s while it runs. */
  async #suspend(pass: PassState, guest: DomainSummary): Promise<void> {
    const label = `Suspending ${guest.name}: `;
    this.#say(pass, `${label}...`);
    let settled = false;
    const bypassCache = this.#options.policy.bypassCache ? { bypassCache: true } : {};
    const saving = this.#options.host.command("managedsave", guest.uuid, bypassCache, {
      queueTimeoutMs: GUESTS_QUEUE_TIMEOUT_MS,
    }).finally(() => settled = true);
    const reporting = (async () => {
      // Bounded by the save, which ends one way or the other.
      for (let seconds = 1; !settled; seconds++) {
        await Promise.race([saving.catch(() => {}), this.#sleep(TICK_MS)]);
        if (!settled && seconds % REPORT_EVERY_SECONDS === 0) this.#say(pass, `${label}...`);
      }
    })();
    try {
      await saving;
      this.#say(pass, `${label}done`);
    } catch (error) {
      pass.failed = true;
      this.#say(
        pass,
        `error: Failed to save domain '${guest.name}' state: ${(error as Error).message}`,
      );
    }
    await reporting;
  }

  /** libvirt-guests' `shutdown_guest`: one guest, `SHUTDOWN_TIMEOUT` seconds. */
  async #shutdown(pass: PassState, guest: DomainSummary): Promise<void> {
    const { policy } = this.#options;
    this.#say(pass, `Starting shutdown on guest: ${guest.name}`);
    if (!await this.#askShutdown(pass, guest)) return;
    let timeout = policy.shutdownTimeoutSeconds;
    while (timeout > 0) {
      if (!await this.#stillActiveAfterTick(guest.uuid)) break;
      if (timeout % REPORT_EVERY_SECONDS === 0) {
        this.#say(
          pass,
          `Waiting for guest ${guest.name} to shut down, ${timeout} seconds left`,
        );
      }
      timeout--;
    }
    const summary = this.#summary(guest.uuid);
    // A stop of the service cut the wait short: nothing to report yet.
    if (summary === undefined || (summary.active && this.#closing.signal.aborted)) return;
    this.#say(
      pass,
      summary.active
        ? `Shutdown of guest ${guest.name} failed to complete in time.`
        : `Shutdown of guest ${guest.name} complete.`,
    );
  }

  /** libvirt-guests' `shutdown_guests_parallel`: `PARALLEL_SHUTDOWN` at once, one timeout. */
  async #shutdownParallel(pass: PassState, guests: DomainSummary[]): Promise<void> {
    const { policy } = this.#options;
    const waiting = [...guests];
    let shuttingDown: DomainSummary[] = [];
    let timeout = policy.shutdownTimeoutSeconds;
    while (shuttingDown.length > 0 || waiting.length > 0) {
      while (waiting.length > 0 && shuttingDown.length < policy.parallelShutdown) {
        const guest = waiting.shift()!;
        if (this.#summary(guest.uuid) === undefined) continue;
        this.#say(pass, `Starting shutdown on guest: ${guest.name}`);
        await this.#askShutdown(pass, guest);
        shuttingDown.push(guest);
      }
      await this.#sleep(TICK_MS);
      if (this.#closing.signal.aborted) return;
      if (timeout % REPORT_EVERY_SECONDS === 0) {
        this.#say(
          pass,
          `Waiting for ${
            waiting.length + shuttingDown.length
          } guests to shut down, ${timeout} seconds left`,
        );
      }
      timeout--;
      if (timeout <= 0) {
        this.#say(pass, "Timeout expired while shutting down domains");
        pass.failed = true;
        return;
      }
      const before = shuttingDown;
      shuttingDown = before.filter((guest) => this.#summary(guest.uuid)?.active === true);
      for (const guest of before) {
        if (!shuttingDown.includes(guest) && this.#summary(guest.uuid) !== undefined) {
          this.#say(pass, `Shutdown of guest ${guest.name} complete.`);
        }
      }
    }
  }

  /** `virsh shutdown`: false (and the pass failed) when the guest could not be asked. */
  async #askShutdown(pass: PassState, guest: DomainSummary): Promise<boolean> {
    try {
      await this.#options.host.command("shutdown", guest.uuid, {}, {
        queueTimeoutMs: GUESTS_QUEUE_TIMEOUT_MS,
      });
      return true;
    } catch (error) {
      pass.failed = true;
      this.#say(
        pass,
        `error: Failed to shutdown domain '${guest.name}': ${(error as Error).message}`,
      );
      return false;
    }
  }

  /** Waits a second (less when the guest goes first): whether it is still active. */
  async #stillActiveAfterTick(uuid: string): Promise<boolean> {
    const started = Date.now();
    try {
      const summary = await this.#options.host.waitFor(uuid, (each) => !each.active, TICK_MS);
      if (summary === undefined || !summary.active) {
        return false;
      }
    } catch {
      // Still active after the tick (code 68).
    }
    const left = TICK_MS - (Date.now() - started);
    if (left > 0) await this.#sleep(left);
    return this.#summary(uuid)?.active === true && !this.#closing.signal.aborted;
  }

  async #unlist(pass: PassState, guest: ListedGuest, outcome: GuestsStartOutcome): Promise<void> {
    try {
      await this.#options.host.runJob(guest.uuid, "unlist the guest", async (job) => {
        if (!exists(job.snapshot) || (job.snapshot.context.guestsListed ?? null) === null) return;
        await job.append([{ type: "domain.guests_unlisted", body: { outcome } }]);
      }, { queueTimeoutMs: GUESTS_QUEUE_TIMEOUT_MS });
    } catch (error) {
      pass.failed = true;
      this.#say(pass, `error: ${guest.name}: ${(error as Error).message}`);
    }
  }

  #summary(uuid: string): DomainSummary | undefined {
    try {
      return this.#options.host.lookup(uuid);
    } catch {
      return undefined;
    }
  }

  #sleep(ms: number): Promise<void> {
    const signal = this.#closing.signal;
    if (this.#options.sleep !== undefined) return this.#options.sleep(ms, signal);
    if (ms <= 0 || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener("abort", done, { once: true });
    });
  }

  #say(pass: PassState, line: string): void {
    if (pass.lines.length < GUESTS_PASS_LINES_MAX) pass.lines.push(line);
    this.#options.log?.(line);
    this.#notify();
  }

  #notify(): void {
    for (const listener of [...this.#listeners]) listener();
  }
}
