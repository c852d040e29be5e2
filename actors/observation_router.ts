/**
 * Routes what drivers observe (and recorded deadlines that expire) to the domain's actor, as
 * jobs of the observation kind, in the background: a driver's callback never waits on a queue
 * and never writes to the log itself. The host waits for every routed job at `idle()` and
 * `close()`.
 *
 * @module
 */

import { type DomainActor, ObservationQueueFullError } from "./domain_actor.ts";
import { SAMPLE_OBSERVATION_KINDS } from "../src/model/observation.ts";
import * as commands from "./domain_commands.ts";
import type { Observation } from "./driver_protocol.ts";

/** What the router needs from the host. */
export interface ObservationRouterOptions {
  /** The actor of a uuid, if any. */
  actorOf(uuid: string): DomainActor | undefined;
  /** What commands need; asked per job, since it refers back to this router. */
  commands(): commands.CommandEnvironment;
  /** The clock, in ms since the epoch. */
  now(): number;
  /** Where failures of background jobs go. */
  log(message: string): void;
  /** Re-reads a domain from its driver after one of its observations was refused. */
  resync(actor: DomainActor): Promise<void>;
}

/**
 * The router.
 *
 * @example
 * ```ts ignore
 * const router = new ObservationRouter({ actorOf, commands: () => env, now: Date.now, log });
 * router.observe(uuid, { kind: "shutdown", detail: "guest" });
 * await router.settled();
 * ```
 */
export class ObservationRouter {
  readonly #options: ObservationRouterOptions;
  readonly #deadlineTimers = new Map<string, ReturnType<typeof setTimeout>>();
  readonly #background = new Set<Promise<unknown>>();
  #closed = false;

  constructor(options: ObservationRouterOptions) {
    this.#options = options;
  }

  /** Records what a driver observed of a domain, in the domain's queue; dropped once closed. */
  observe(uuid: string, observation: Observation): void {
    const actor = this.#options.actorOf(uuid);
    if (actor === undefined || this.#closed) return;
    // A value reported again replaces one still waiting: only the latest balloon size matters.
    const coalesceKey = SAMPLE_OBSERVATION_KINDS.has(observation.kind)
      ? observation.kind
      : undefined;
    this.track(
      actor.run(
        `observe ${observation.kind}`,
        { kind: "observation", ...(coalesceKey === undefined ? {} : { coalesceKey }) },
        (job) => commands.observe(job, this.#options.commands(), observation),
      ).catch((error) => {
        const name = actor.snapshot.context.name;
        this.#options.log(`domain ${name}: ${observation.kind}: ${(error as Error).message}`);
        // Never lose a lifecycle change silently: reality is read again once the queue drains.
        if (error instanceof ObservationQueueFullError) this.track(this.#options.resync(actor));
      }),
    );
  }

  /** Arms (or re-arms) the timer of a domain's recorded deadline. */
  armDeadline(uuid: string, atMs: number): void {
    if (this.#closed) return;
    const existing = this.#deadlineTimers.get(uuid);
    if (existing !== undefined) clearTimeout(existing);
    const delayMs = Math.max(0, atMs - this.#options.now());
    const timer = setTimeout(() => {
      this.#deadlineTimers.delete(uuid);
      const actor = this.#options.actorOf(uuid);
      if (actor === undefined || this.#closed) return;
      this.track(
        actor.run(
          "deadline",
          { kind: "observation" },
          (job) => commands.expireDeadline(job, this.#options.commands()),
        ).catch((error) => this.#options.log(`deadline of ${uuid}: ${(error as Error).message}`)),
      );
    }, delayMs);
    this.#deadlineTimers.set(uuid, timer);
  }

  /** Keeps a background job until it settles, so `settled()` can wait for it. */
  track(job: Promise<unknown>): void {
    this.#background.add(job);
    job.finally(() => this.#background.delete(job));
  }

  /** Resolves once every background job known now has settled. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#background]);
  }

  /** Stops routing: clears deadline timers (they are recorded, and re-armed at recovery). */
  close(): void {
    this.#closed = true;
    for (const timer of this.#deadlineTimers.values()) clearTimeout(timer);
    this.#deadlineTimers.clear();
  }
}
