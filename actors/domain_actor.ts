/**
 * One domain's actor: its machine snapshot, its stream version, and the queue that runs its jobs
 * (commands and driver observations) one at a time.
 *
 * A caller gives a deadline for the wait in the queue: if it passes before the job starts, the
 * caller gets "busy with <job> since <time>" (code 87) and the job never runs. Once a job runs,
 * it finishes (its driver calls carry their own bounded timeouts). A job changes state only by
 * appending facts: each append is durable before the facts are applied to the snapshot, so what
 * a reader sees has always been recorded. One exception keeps the state truthful: when the log
 * refuses facts about what the hypervisor already did, they are applied and held
 * (held_facts.ts), and written, in order, before any later fact of the domain.
 *
 * @module
 */

import { EventStoreWriteError } from "../src/log/errors.ts";
import type { EventStore } from "../src/log/event_store.ts";
import { ErrorCode, VirtError } from "../src/model/errors.ts";
import { type DomainFact, domainStream } from "../src/model/facts.ts";
import { applyFact, type DomainSnapshot } from "./domain_machine.ts";
import {
  FactsHeldError,
  HeldFacts,
  type HeldFactsSummary,
  recordsHappening,
} from "./held_facts.ts";

/** Most commands that may wait in one domain's queue; one more is refused at once (code 87). */
export const COMMAND_QUEUE_MAX = 256;

/**
 * Most driver observations that may wait in one domain's queue. Observations that report a
 * current value (a balloon size) are coalesced, so the queue fills only with events. When it is
 * full the newest observation is refused with {@linkcode ObservationQueueFullError} and never
 * recorded; the caller (the host) then sends the domain to reconcile, which re-reads reality
 * from the driver once the observations before it have run, so a lost lifecycle observation
 * (a SHUTDOWN, a STOP) is corrected rather than lost. Nothing is ever dropped from the queue.
 */
export const OBSERVATION_QUEUE_MAX = 4096;

/**
 * An observation refused because its domain's observation queue is full: it was not recorded,
 * and the domain's record may lag reality until a reconcile.
 */
export class ObservationQueueFullError extends VirtError {
  /** @param uuid The domain's uuid. */
  constructor(uuid: string) {
    super(ErrorCode.RESOURCE_BUSY, `observation queue of '${uuid}' is full`);
    this.name = "ObservationQueueFullError";
  }
}

/** What a running job may do. */
export interface JobContext {
  /** The domain's current snapshot (changes after each `append`). */
  readonly snapshot: DomainSnapshot;
  /** Aborted when the actor closes. */
  readonly signal: AbortSignal;
  /**
   * Appends facts to the domain's stream and, once they are durable, applies them to the
   * snapshot, in order.
   *
   * @returns The facts with their positions.
   */
  append(facts: DomainFact[]): Promise<AppliedFact[]>;
}

/** Options of {@linkcode DomainActor.run}. */
export interface RunOptions {
  /** How long the caller will wait for the job to start, in ms. Default: no limit but the queue bound. */
  queueTimeoutMs?: number;
  /** Abandons the wait (not a running job) when aborted. */
  signal?: AbortSignal;
  /**
   * Observation jobs use their own, larger queue ({@linkcode OBSERVATION_QUEUE_MAX}) and never
   * time out. A recovery job (reconcile) is never refused: at most one waits at a time, and a
   * second joins the waiting one.
   */
  kind?: JobKind;
  /**
   * For observations: a newer job with the same key replaces the work of one still waiting
   * (the latest value wins), without taking another place; both callers get its outcome.
   */
  coalesceKey?: string;
}

/** What a job is, for the queue's bounds. */
export type JobKind = "command" | "observation" | "recovery";

/** A fact as applied: the fact and its global position in the log. */
export interface AppliedFact {
  /** The fact's global position. */
  position: number;
  /** The fact. */
  fact: DomainFact;
}

/** Called after facts were appended and applied, in append order. */
export type AppliedListener = (actor: DomainActor, facts: AppliedFact[]) => void;

/** How long a retry of held facts waits for the domain's queue before it gives up this turn, in ms. */
export const HELD_RETRY_QUEUE_TIMEOUT_MS = 10_000;

interface QueuedJob {
  name: string;
  kind: JobKind;
  coalesceKey?: string;
  work: (context: JobContext) => Promise<unknown>;
  /** Every caller waiting on this job (more than one once jobs are coalesced). */
  settlers: { resolve: (value: unknown) => void; reject: (error: unknown) => void }[];
  cancel?: () => void;
}

/**
 * A domain's actor.
 *
 * @example Running a job
 * ```ts ignore
 * const actor = new DomainActor({ uuid, store, snapshot, version: 0, onApplied: () => {} });
 * await actor.run("define", { queueTimeoutMs: 5000 }, (job) => job.append([fact]));
 * ```
 */
export class DomainActor {
  /** The domain's uuid. */
  readonly uuid: string;
  readonly #store: EventStore;
  readonly #onApplied: AppliedListener;
  readonly #now: () => number;
  readonly #closing = new AbortController();
  #snapshot: DomainSnapshot;
  /** The snapshot of the durable facts only: differs from #snapshot while facts are held. */
  #durableSnapshot: DomainSnapshot;
  #version: number;
  readonly #held = new HeldFacts();
  readonly #onHeld: (actor: DomainActor) => void;
  readonly #onHeldWritten: (actor: DomainActor, facts: DomainFact[]) => void;
  #queue: QueuedJob[] = [];
  /** Waiting jobs per kind, so a bound check costs O(1). */
  #waiting: Record<JobKind, number> = { command: 0, observation: 0, recovery: 0 };
  /** Waiting jobs a new one may join: the recovery, and observations by coalesce key. */
  #joinable = new Map<string, QueuedJob>();
  #current: { name: string; sinceMs: number } | undefined;
  #draining = false;
  #idleWaiters: (() => void)[] = [];

  /**
   * @param options.uuid The domain's uuid.
   * @param options.store The event log.
   * @param options.snapshot The domain's snapshot as replayed.
   * @param options.version The domain stream's version matching `snapshot`.
   * @param options.onApplied Told of every appended and applied batch of facts.
   * @param options.onHeld Told when the log refused facts that the actor now holds.
   * @param options.onHeldWritten Told when held facts were written (by a retry or before a later
   *   fact), so what the job that held them left undone can be finished.
   * @param options.now The clock, in ms since the epoch.
   */
  constructor(options: {
    uuid: string;
    store: EventStore;
    snapshot: DomainSnapshot;
    version: number;
    onApplied: AppliedListener;
    onHeld?: (actor: DomainActor) => void;
    onHeldWritten?: (actor: DomainActor, facts: DomainFact[]) => void;
    now?: () => number;
  }) {
    this.uuid = options.uuid;
    this.#store = options.store;
    this.#snapshot = options.snapshot;
    this.#durableSnapshot = options.snapshot;
    this.#version = options.version;
    this.#onApplied = options.onApplied;
    this.#onHeld = options.onHeld ?? (() => {});
    this.#onHeldWritten = options.onHeldWritten ?? (() => {});
    this.#now = options.now ?? Date.now;
  }

  /** The current snapshot. */
  get snapshot(): DomainSnapshot {
    return this.#snapshot;
  }

  /** The snapshot of the durable facts alone (what a log snapshot may record). */
  get durableSnapshot(): DomainSnapshot {
    return this.#durableSnapshot;
  }

  /** The stream version of the durable snapshot. */
  get version(): number {
    return this.#version;
  }

  /** The facts held because the log refused them, or null when none. */
  get held(): HeldFactsSummary | null {
    return this.#held.summary();
  }

  /** The held facts, oldest first, with the latest refusal (for a final report at close). */
  get heldFacts(): { facts: DomainFact[]; cause: EventStoreWriteError | undefined } {
    return { facts: this.#held.facts, cause: this.#held.cause };
  }

  /**
   * Writes the held facts as a job of this actor (so after the running job, and before any later
   * one's facts), waiting at most {@linkcode HELD_RETRY_QUEUE_TIMEOUT_MS} for the queue.
   *
   * @returns The facts written, oldest first (none when none were held any more).
   * @throws {EventStoreWriteError} When the log still refuses them; they stay held.
   */
  writeHeld(): Promise<DomainFact[]> {
    return this.run(
      "write held facts",
      { kind: "observation", queueTimeoutMs: HELD_RETRY_QUEUE_TIMEOUT_MS },
      () => this.#writeHeld(),
    );
  }

  /** The job running now and since when, if any. */
  get currentJob(): { name: string; sinceMs: number } | undefined {
    return this.#current;
  }

  /** Jobs waiting to run. */
  get queueLength(): number {
    return this.#queue.length;
  }

  /**
   * Queues a job and resolves with its result once it has run.
   *
   * @param name The job's name, shown to callers that time out behind it.
   * @param options Queue deadline, abort signal, kind.
   * @param work The job: appends facts through its context; must not outlive its own timeouts.
   * @throws {VirtError} Code 87 when the queue is full or the deadline passes before the job starts.
   */
  run<T>(name: string, options: RunOptions, work: (context: JobContext) => Promise<T>): Promise<T> {
    const kind = options.kind ?? "command";
    if (this.#closing.signal.aborted) {
      return Promise.reject(
        new VirtError(ErrorCode.OPERATION_ABORTED, `domain actor of '${this.uuid}' is closed`),
      );
    }
    const joined = this.#joinWaiting(kind, options.coalesceKey, name, work);
    if (joined !== undefined) return joined as Promise<T>;
    if (kind === "command" && this.#waiting.command >= COMMAND_QUEUE_MAX) {
      return Promise.reject(this.#busy());
    }
    if (kind === "observation" && this.#waiting.observation >= OBSERVATION_QUEUE_MAX) {
      return Promise.reject(new ObservationQueueFullError(this.uuid));
    }
    return new Promise<T>((resolve, reject) => {
      const job: QueuedJob = {
        name,
        kind,
        ...(options.coalesceKey === undefined ? {} : { coalesceKey: options.coalesceKey }),
        work: work as (context: JobContext) => Promise<unknown>,
        settlers: [{ resolve: resolve as (value: unknown) => void, reject }],
      };
      this.#armWaitLimits(job, options);
      this.#enqueue(job);
      this.#drain();
    });
  }

  /**
   * Joins a waiting job the new one merges with: a recovery joins the waiting recovery; an
   * observation with a coalesce key replaces the work of the waiting one with that key.
   */
  #joinWaiting(
    kind: JobKind,
    coalesceKey: string | undefined,
    name: string,
    work: (context: JobContext) => Promise<unknown>,
  ): Promise<unknown> | undefined {
    const key = joinKey(kind, coalesceKey);
    const waiting = key === undefined ? undefined : this.#joinable.get(key);
    if (waiting === undefined) return undefined;
    if (kind === "observation") {
      waiting.name = name;
      waiting.work = work;
    }
    return new Promise((resolve, reject) => waiting.settlers.push({ resolve, reject }));
  }

  #enqueue(job: QueuedJob): void {
    this.#queue.push(job);
    this.#waiting[job.kind]++;
    const key = joinKey(job.kind, job.coalesceKey);
    if (key !== undefined) this.#joinable.set(key, job);
  }

  /** Forgets a job that left the queue (to run, or given up). */
  #dequeued(job: QueuedJob): void {
    this.#waiting[job.kind]--;
    const key = joinKey(job.kind, job.coalesceKey);
    if (key !== undefined && this.#joinable.get(key) === job) this.#joinable.delete(key);
  }

  /** Resolves once no job runs or waits. */
  idle(): Promise<void> {
    if (this.#current === undefined && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Refuses new jobs, aborts the signal of the running one and fails the waiting ones. */
  close(): void {
    this.#closing.abort();
    const waiting = this.#queue;
    this.#queue = [];
    this.#waiting = { command: 0, observation: 0, recovery: 0 };
    this.#joinable.clear();
    for (const job of waiting) {
      job.cancel?.();
      settle(job, { error: new VirtError(ErrorCode.OPERATION_ABORTED, "the service is stopping") });
    }
  }

  /** Replaces the snapshot with facts read back from the log (recovery only, no job running). */
  replay(fact: DomainFact, version: number): void {
    if (this.#current !== undefined) throw new Error("replay() while a job runs");
    if (version !== this.#version + 1) {
      throw new Error(`Stream ${this.uuid}: version ${version} after ${this.#version}`);
    }
    this.#snapshot = applyFact(this.#snapshot, fact);
    this.#durableSnapshot = this.#snapshot;
    this.#version = version;
  }

  #armWaitLimits(job: QueuedJob, options: RunOptions): void {
    const cleanups: (() => void)[] = [];
    const leave = (error: VirtError) => {
      const index = this.#queue.indexOf(job);
      if (index === -1) return;
      this.#queue.splice(index, 1);
      this.#dequeued(job);
      job.cancel?.();
      settle(job, { error });
    };
    if (options.queueTimeoutMs !== undefined) {
      const timer = setTimeout(() => leave(this.#busy()), Math.max(0, options.queueTimeoutMs));
      cleanups.push(() => clearTimeout(timer));
    }
    if (options.signal !== undefined) {
      const onAbort = () =>
        leave(new VirtError(ErrorCode.OPERATION_ABORTED, `${job.name} was cancelled`));
      if (options.signal.aborted) queueMicrotask(onAbort);
      options.signal.addEventListener("abort", onAbort, { once: true });
      cleanups.push(() => options.signal?.removeEventListener("abort", onAbort));
    }
    job.cancel = () => cleanups.forEach((cleanup) => cleanup());
  }

  #busy(): VirtError {
    const current = this.#current;
    const what = current === undefined
      ? "queued jobs"
      : `${current.name} since ${new Date(current.sinceMs).toISOString()}`;
    return new VirtError(
      ErrorCode.RESOURCE_BUSY,
      `domain '${this.#displayName()}' is busy with ${what}`,
    );
  }

  #displayName(): string {
    const context = this.#snapshot.context;
    return context.live?.name ?? context.definition?.name ?? this.uuid;
  }

  async #drain(): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    try {
      while (this.#queue.length > 0) {
        const job = this.#queue.shift()!;
        this.#dequeued(job);
        job.cancel?.();
        this.#current = { name: job.name, sinceMs: this.#now() };
        try {
          settle(job, { value: await job.work(this.#context()) });
        } catch (error) {
          settle(job, { error });
        } finally {
          this.#current = undefined;
        }
      }
    } finally {
      this.#draining = false;
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      waiters.forEach((wake) => wake());
    }
  }

  #context(): JobContext {
    // deno-lint-ignore no-this-alias
    const actor = this;
    return {
      get snapshot() {
        return actor.#snapshot;
      },
      signal: this.#closing.signal,
      append: (facts) => this.#append(facts),
    };
  }

  async #append(facts: DomainFact[]): Promise<AppliedFact[]> {
    if (facts.length === 0) return [];
    // Validate against the machine before writing: a fact the machine rejects is a bug, and
    // must never reach the log.
    const fold = () => facts.reduce(applyFact, this.#snapshot);
    let next = fold();
    try {
      // Held facts happened first: they go before these, or these wait with them.
      if (this.#held.count > 0 || this.#held.dropped > 0) {
        await this.#writeHeld();
        next = fold();
      }
      return await this.#write(facts, next);
    } catch (error) {
      if (!(error instanceof EventStoreWriteError) || !recordsHappening(facts)) throw error;
      next = fold();
      const held = this.#held.hold(facts, error, this.#now());
      // The hypervisor did it: the state says so even before the log does.
      this.#snapshot = next;
      this.#onHeld(this);
      throw new FactsHeldError(error, facts, { held });
    }
  }

  /** Appends facts when none are held (so the durable and current snapshots are one). */
  async #write(facts: DomainFact[], next: DomainSnapshot): Promise<AppliedFact[]> {
    const expected = this.#version;
    const result = await this.#store.append(
      domainStream(this.uuid),
      facts.map((fact) => ({ type: fact.type, body: fact.body as never })),
      expected,
    );
    if (this.#version !== expected) {
      throw new Error(`Stream ${this.uuid} moved during an append`);
    }
    this.#snapshot = next;
    this.#durableSnapshot = next;
    this.#version = result.streamVersion;
    return this.#applied(facts, result.firstPosition);
  }

  /** Appends the held facts in one append; on refusal they stay held, with the new cause. */
  async #writeHeld(): Promise<DomainFact[]> {
    const facts = this.#held.facts;
    const dropped = this.#held.dropped;
    if (facts.length === 0 && dropped === 0) return [];
    let durable = this.#durableSnapshot;
    for (const fact of facts) durable = applyFact(durable, fact);
    if (facts.length > 0) {
      const expected = this.#version;
      let result;
      try {
        result = await this.#store.append(
          domainStream(this.uuid),
          facts.map((fact) => ({ type: fact.type, body: fact.body as never })),
          expected,
        );
      } catch (error) {
        if (error instanceof EventStoreWriteError) this.#held.refused(error);
        throw error;
      }
      if (this.#version !== expected) {
        throw new Error(`Stream ${this.uuid} moved during an append`);
      }
      this.#version = result.streamVersion;
      this.#durableSnapshot = durable;
      this.#held.clear();
      this.#applied(facts, result.firstPosition);
      this.#onHeldWritten(this, facts);
    } else {
      this.#held.clear();
    }
    // Facts dropped at the bound never reach the log: until reconcile records the truth, the
    // state is what the log says.
    if (dropped > 0) this.#snapshot = this.#durableSnapshot;
    return facts;
  }

  #applied(facts: DomainFact[], firstPosition: number): AppliedFact[] {
    const stored: AppliedFact[] = facts.map((fact, index) => ({
      position: firstPosition + index,
      fact,
    }));
    this.#onApplied(this, stored);
    return stored;
  }
}

/** The key under which a waiting job can be joined, if it can. */
function joinKey(kind: JobKind, coalesceKey: string | undefined): string | undefined {
  if (kind === "recovery") return "recovery";
  if (kind === "observation" && coalesceKey !== undefined) return `observation:${coalesceKey}`;
  return undefined;
}

/** Settles every caller waiting on a job with its outcome. */
function settle(job: QueuedJob, outcome: { value: unknown } | { error: unknown }): void {
  for (const { resolve, reject } of job.settlers) {
    if ("error" in outcome) reject(outcome.error);
    else resolve(outcome.value);
  }
}
