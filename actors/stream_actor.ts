/**
 * The actor of one object kept on its own stream of the log (a storage pool, a network): its
 * machine snapshot, its stream version, and a bounded queue that runs its jobs one at a time. A
 * caller that waits longer than its queue timeout behind a busy object gets "<kind> 'x' is busy
 * with <job> since <time>" (code 87); other objects are never blocked.
 *
 * Facts are checked against the machine before they are written, written, and only then
 * applied, so the snapshot is always the fold of what is durable.
 *
 * @module
 */

import type { EventStore } from "../src/log/event_store.ts";
import { ErrorCode, VirtError } from "../src/model/errors.ts";

/** Most jobs waiting in one object's queue. */
export const STREAM_QUEUE_MAX = 32;

/** How long a caller waits behind a busy object by default, in ms. */
export const STREAM_QUEUE_TIMEOUT_MS_DEFAULT = 10_000;

/** A fact: its type and body. */
export interface StreamFact {
  type: string;
  body: unknown;
}

/** A fact as it was applied: the fact and its global position in the log. */
export interface AppliedFact<F extends StreamFact> {
  fact: F;
  position: number;
  uuid: string;
  /** The object's name when the fact was recorded (kept for an undefine). */
  name: string;
}

/** How one kind of object folds its facts. */
export interface StreamKind<S, F extends StreamFact> {
  /** The word errors use (`pool`, `network`). */
  label: string;
  /** The stream of the object with `uuid`. */
  stream(uuid: string): string;
  /** A fresh snapshot of an object that does not exist yet. */
  initial(uuid: string): S;
  /** Applies one fact; throws when it does not apply (a programming error). */
  apply(snapshot: S, fact: F): S;
  /** The object's name in a snapshot, when it has a definition. */
  nameOf(snapshot: S): string | undefined;
}

interface Job {
  name: string;
  run: () => Promise<void>;
  timer?: ReturnType<typeof setTimeout>;
}

/**
 * One object's actor.
 *
 * @example
 * ```ts ignore
 * const actor = new StreamActor(uuid, store, POOL_KIND, onApplied);
 * await actor.run("start", () => actor.append([{ type: "pool.started", body: {} }]));
 * ```
 */
export class StreamActor<S, F extends StreamFact> {
  /** The object's uuid. */
  readonly uuid: string;
  readonly #store: EventStore;
  readonly #kind: StreamKind<S, F>;
  readonly #onApplied: (facts: AppliedFact<F>[]) => void;
  #snapshot: S;
  #version = 0;
  /**
   * Whether `#version` is the stream's: false for an actor made afresh for a uuid whose stream
   * may already hold the facts of an earlier life (undefined, then forgotten by the registry).
   */
  #versionKnown = false;
  readonly #queue: Job[] = [];
  #current: { name: string; sinceMs: number } | undefined;
  #draining = false;

  /**
   * @param uuid The object's uuid.
   * @param store The log.
   * @param kind How its facts fold.
   * @param onApplied Told of every fact once it is durable and applied (events, projections).
   */
  constructor(
    uuid: string,
    store: EventStore,
    kind: StreamKind<S, F>,
    onApplied: (facts: AppliedFact<F>[]) => void = () => {},
  ) {
    this.uuid = uuid;
    this.#store = store;
    this.#kind = kind;
    this.#onApplied = onApplied;
    this.#snapshot = kind.initial(uuid);
  }

  /** The current snapshot (the fold of the durable facts). */
  get snapshot(): S {
    return this.#snapshot;
  }

  /** Folds a fact read from the log at recovery (nothing is written). */
  replay(fact: F, version: number): void {
    this.#snapshot = this.#kind.apply(this.#snapshot, fact);
    this.#version = version;
    this.#versionKnown = true;
  }

  /**
   * Appends facts to the object's stream and applies them.
   *
   * @throws {Error} When a fact does not apply in the current state (a programming error);
   *   nothing is written then.
   */
  async append(facts: F[]): Promise<void> {
    if (facts.length === 0) return;
    const next = facts.reduce((snapshot, fact) => this.#kind.apply(snapshot, fact), this.#snapshot);
    if (!this.#versionKnown) {
      this.#version = await this.#store.streamVersion(this.#kind.stream(this.uuid));
      this.#versionKnown = true;
    }
    const result = await this.#store.append(
      this.#kind.stream(this.uuid),
      facts.map((fact) => ({ type: fact.type, body: fact.body as never })),
      this.#version,
    );
    const name = this.#kind.nameOf(next) ?? this.#kind.nameOf(this.#snapshot) ?? this.uuid;
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
   * @throws {VirtError} Code 87 when the object stays busy past `queueTimeoutMs`, or when its
   *   queue is full; whatever `work` throws.
   */
  run<T>(
    name: string,
    work: () => Promise<T>,
    queueTimeoutMs = STREAM_QUEUE_TIMEOUT_MS_DEFAULT,
  ): Promise<T> {
    if (this.#queue.length >= STREAM_QUEUE_MAX) return Promise.reject(this.#busy());
    return new Promise<T>((resolve, reject) => {
      const job: Job = {
        name,
        // A work that throws before its first await rejects too.
        run: () => Promise.resolve().then(work).then(resolve, reject),
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
    const name = this.#kind.nameOf(this.#snapshot) ?? this.uuid;
    return new VirtError(
      ErrorCode.RESOURCE_BUSY,
      `${this.#kind.label} '${name}' is busy with ${what}`,
    );
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

/** Facts read per page at recovery. */
const REPLAY_PAGE_FACTS = 1000;

/**
 * Replays the whole log into the actors of one kind of object: each fact whose stream
 * `uuidOf` recognises and whose type `isFact` accepts is folded into `actorFor(uuid)`.
 */
export async function replayStreams<F extends StreamFact>(
  store: EventStore,
  uuidOf: (stream: string) => string | undefined,
  isFact: (type: string) => boolean,
  actorFor: (uuid: string) => { replay(fact: F, version: number): void },
): Promise<void> {
  let position = 0;
  const head = store.headPosition();
  while (position < head) {
    const facts = await store.readAll({ afterPosition: position, limit: REPLAY_PAGE_FACTS });
    if (facts.length === 0) break;
    for (const stored of facts) {
      position = stored.position;
      const uuid = uuidOf(stored.stream);
      if (uuid === undefined || !isFact(stored.type)) continue;
      actorFor(uuid).replay({ type: stored.type, body: stored.body } as F, stored.version);
    }
  }
}

/**
 * Listeners of freshly applied facts, bounded: one per event-watching connection.
 */
export class FactListeners<A> {
  readonly #listeners = new Set<(facts: A[]) => void>();
  readonly #max: number;
  readonly #what: string;

  /**
   * @param max Most listeners kept.
   * @param what Their name in the refusal (`storage event listeners`).
   */
  constructor(max: number, what: string) {
    this.#max = max;
    this.#what = what;
  }

  /**
   * Adds `listener`; returns the function that removes it.
   *
   * @throws {VirtError} Code 87 beyond the bound.
   */
  add(listener: (facts: A[]) => void): () => void {
    if (this.#listeners.size >= this.#max) {
      throw new VirtError(ErrorCode.RESOURCE_BUSY, `at most ${this.#max} ${this.#what}`);
    }
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Tells every listener. */
  publish(facts: A[]): void {
    for (const listener of this.#listeners) listener(facts);
  }
}
