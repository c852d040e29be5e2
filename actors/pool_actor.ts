/**
 * One storage pool's actor: its machine snapshot, its stream version, and a bounded queue that
 * runs its jobs one at a time. A caller that waits longer than its queue timeout behind a busy
 * pool gets "pool 'x' is busy with <job> since <time>" (code 87); other pools are never blocked.
 *
 * Facts are checked against the machine before they are written, written, and only then
 * applied, so the snapshot is always the fold of what is durable.
 *
 * @module
 */

import type { EventStore } from "../src/log/event_store.ts";
import { ErrorCode, VirtError } from "../src/model/errors.ts";
import type { PoolDefinition } from "../src/model/storage_pool.ts";
import { poolStream, type StorageFact } from "../src/model/storage_facts.ts";
import { applyPoolFact, newPoolSnapshot, type PoolSnapshot } from "./pool_machine.ts";

/** Most jobs waiting in one pool's queue. */
export const POOL_QUEUE_MAX = 32;

/** How long a caller waits behind a busy pool by default, in ms. */
export const POOL_QUEUE_TIMEOUT_MS_DEFAULT = 10_000;

/** A fact as it was applied: the fact and its global position in the log. */
export interface AppliedStorageFact {
  fact: StorageFact;
  position: number;
  uuid: string;
  /** The pool's name when the fact was recorded (kept for `pool.undefined`). */
  name: string;
}

interface Job {
  name: string;
  run: () => Promise<void>;
  timer?: ReturnType<typeof setTimeout>;
}

/**
 * A pool actor.
 *
 * @example
 * ```ts ignore
 * const actor = new PoolActor(uuid, store, onApplied);
 * await actor.run("start", async () => { await actor.append([{ type: "pool.started", body: {} }]); });
 * ```
 */
export class PoolActor {
  /** The pool's uuid. */
  readonly uuid: string;
  readonly #store: EventStore;
  readonly #onApplied: (facts: AppliedStorageFact[]) => void;
  #snapshot: PoolSnapshot;
  #version = 0;
  readonly #queue: Job[] = [];
  #current: { name: string; sinceMs: number } | undefined;
  #draining = false;

  /**
   * @param uuid The pool's uuid.
   * @param store The log.
   * @param onApplied Told of every fact once it is durable and applied (events, projections).
   */
  constructor(
    uuid: string,
    store: EventStore,
    onApplied: (facts: AppliedStorageFact[]) => void = () => {},
  ) {
    this.uuid = uuid;
    this.#store = store;
    this.#onApplied = onApplied;
    this.#snapshot = newPoolSnapshot(uuid);
  }

  /** The current snapshot (the fold of the durable facts). */
  get snapshot(): PoolSnapshot {
    return this.#snapshot;
  }

  /** Folds a fact read from the log at recovery (nothing is written). */
  replay(fact: StorageFact, version: number): void {
    this.#snapshot = applyPoolFact(this.#snapshot, fact);
    this.#version = version;
  }

  /**
   * Appends facts to the pool's stream and applies them.
   *
   * @throws {Error} When a fact does not apply in the current state (a programming error);
   *   nothing is written then.
   */
  async append(facts: StorageFact[]): Promise<void> {
    if (facts.length === 0) return;
    const next = facts.reduce(applyPoolFact, this.#snapshot);
    const expected = this.#version;
    const result = await this.#store.append(
      poolStream(this.uuid),
      facts.map((fact) => ({ type: fact.type, body: fact.body as never })),
      expected,
    );
    const name = next.context.definition?.name ?? this.#snapshot.context.definition?.name ??
      this.uuid;
    this.#snapshot = next;
    this.#version = result.streamVersion;
    this.#onApplied(facts.map((fact, index) => ({
      fact,
      position: result.firstPosition + index,
      uuid: this.uuid,
      name,
    })));
  }

  /**
   * Runs `work` as the job `name` once the jobs before it are done.
   *
   * @throws {VirtError} Code 87 when the pool stays busy past `queueTimeoutMs`, or when its
   *   queue is full; whatever `work` throws.
   */
  run<T>(
    name: string,
    work: () => Promise<T>,
    queueTimeoutMs = POOL_QUEUE_TIMEOUT_MS_DEFAULT,
  ): Promise<T> {
    if (this.#queue.length >= POOL_QUEUE_MAX) return Promise.reject(this.#busy());
    return new Promise<T>((resolve, reject) => {
      const job: Job = {
        name,
        run: () => work().then(resolve, reject),
      };
      job.timer = setTimeout(() => {
        const index = this.#queue.indexOf(job);
        if (index === -1) return;
        this.#queue.splice(index, 1);
        reject(this.#busy());
      }, Math.max(0, queueTimeoutMs));
      this.#queue.push(job);
      void this.#drain();
    });
  }

  #busy(): VirtError {
    const current = this.#current;
    const what = current === undefined
      ? "queued jobs"
      : `${current.name} since ${new Date(current.sinceMs).toISOString()}`;
    const name = this.#snapshot.context.definition?.name ?? this.uuid;
    return new VirtError(ErrorCode.RESOURCE_BUSY, `pool '${name}' is busy with ${what}`);
  }

  async #drain(): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    try {
      while (this.#queue.length > 0) {
        const job = this.#queue.shift()!;
        clearTimeout(job.timer);
        this.#current = { name: job.name, sinceMs: Date.now() };
        try {
          await job.run();
        } finally {
          this.#current = undefined;
        }
      }
    } finally {
      this.#draining = false;
    }
  }

  /** Waits for the queue to empty (at close). */
  async idle(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((this.#draining || this.#queue.length > 0) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

/** A pool's definition (every existing pool has one). */
export function definitionOf(actor: PoolActor): PoolDefinition {
  const definition = actor.snapshot.context.definition;
  if (definition === null) throw new Error(`Pool ${actor.uuid} has no definition`);
  return definition;
}
