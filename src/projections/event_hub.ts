/**
 * One reader of the log's live tail for every event-stream subscriber.
 *
 * Each new fact is turned into its message, JSON and SSE bytes once, and kept in a bounded ring of
 * recent entries. Subscribers hold only a cursor: they take batches from the ring at their own
 * pace, and one behind the ring reads the log itself until it catches up. So the cost of a fact is
 * paid once, not once per subscriber, and a slow subscriber costs memory only up to its own
 * bounded buffer.
 *
 * @module
 */

import { setImmediate } from "node:timers";
import type { EventStore, Fact } from "../log/event_store.ts";
import type { EventMessage } from "./event_message.ts";
import { eventMessage } from "./event_message.ts";

/** Tunables of the event stream. */
export interface EventStreamSettings {
  /** Interval between SSE heartbeat comments, in ms. */
  heartbeatMs: number;
  /** Messages a subscriber may have unread; the log is read no faster than it reads them. */
  subscriberBufferMax: number;
  /** How long a subscriber with a full buffer may read nothing before it is dropped, in ms. */
  subscriberStallMs: number;
  /** Subscribers served at once; one more answers 503. */
  subscribersMax: number;
}

/** One fact as the hub keeps it. */
export interface HubEntry {
  /** The fact's position. */
  position: number;
  /** The message; undefined for a fact that is not about a domain. */
  message?: EventMessage;
  /** The message as JSON text (WebSocket frames). */
  json?: string;
  /** The message as one encoded SSE message. */
  sse?: Uint8Array;
}

/** Entries the ring keeps. */
export const HUB_RING_ENTRIES_MAX = 32_768;
/** Listeners at once (one per libvirt-protocol connection with event callbacks). */
export const HUB_LISTENERS_MAX = 65_536;
/** Facts read per page by a subscriber catching up from the log. */
const CATCH_UP_PAGE_FACTS = 1000;

const encoder = new TextEncoder();

/**
 * The hub.
 *
 * @example
 * ```ts ignore
 * const hub = new EventHub(store, (uuid) => host.nameOfUuid(uuid));
 * const batch = await hub.batchAfter(0, 256);
 * ```
 */
export class EventHub {
  readonly #store: EventStore;
  readonly #nameOf: (uuid: string) => string | undefined;
  readonly #ring: (HubEntry | undefined)[] = new Array(HUB_RING_ENTRIES_MAX);
  /** Position of the oldest entry in the ring. */
  #ringStart: number;
  /** Position of the newest fact the hub has seen. */
  #head: number;
  #waiters = new Set<() => void>();
  readonly #listeners = new Set<() => void>();
  #wakeScheduled = false;
  readonly #stop = new AbortController();
  readonly #done: Promise<void>;

  /**
   * Starts following the log from its current head.
   *
   * @param store The log.
   * @param nameOf A domain's current name by uuid, for messages.
   */
  constructor(store: EventStore, nameOf: (uuid: string) => string | undefined) {
    this.#store = store;
    this.#nameOf = nameOf;
    this.#head = store.headPosition();
    this.#ringStart = this.#head + 1;
    this.#done = this.#follow();
  }

  /** The newest position the hub has seen. */
  get head(): number {
    return this.#head;
  }

  /** Turns a fact into a hub entry (messages, JSON and SSE bytes made once). */
  entryOf(fact: Fact): HubEntry {
    const message = eventMessage(fact, this.#nameOf);
    if (message === undefined) return { position: fact.position };
    const json = JSON.stringify(message);
    const sse = encoder.encode(`id: ${fact.position}\ndata: ${json}\n\n`);
    return { position: fact.position, message, json, sse };
  }

  /**
   * Up to `max` entries strictly after `cursor`, from the ring, or read from the log when the ring
   * no longer holds them. Empty when nothing newer exists yet.
   *
   * @throws {PositionPrunedError} When the log no longer holds them either.
   */
  async batchAfter(cursor: number, max: number): Promise<HubEntry[]> {
    const ring = this.entriesAfter(cursor, max);
    if (ring !== undefined) return ring;
    const facts = await this.#store.readAll({
      afterPosition: cursor,
      limit: Math.min(max, CATCH_UP_PAGE_FACTS),
    });
    return facts.map((fact) => this.entryOf(fact));
  }

  /**
   * Up to `max` entries strictly after `cursor` when the ring holds them (empty when nothing
   * newer exists yet), without waiting; undefined when they must be read from the log
   * ({@linkcode EventHub.batchAfter}).
   */
  entriesAfter(cursor: number, max: number): HubEntry[] | undefined {
    if (cursor >= this.#head) return [];
    if (cursor + 1 < this.#ringStart) return undefined;
    const last = Math.min(this.#head, cursor + max);
    const batch: HubEntry[] = [];
    for (let position = cursor + 1; position <= last; position++) {
      batch.push(this.#ring[position % HUB_RING_ENTRIES_MAX]!);
    }
    return batch;
  }

  /**
   * Calls `listener` synchronously each time waiters are woken (once per burst of new facts),
   * for subscribers that take their entries at once with {@linkcode EventHub.entriesAfter}: no
   * promise, timer or abort listener per fact and subscriber. At most
   * {@linkcode HUB_LISTENERS_MAX} listen at once.
   *
   * @returns Stops the calls.
   * @throws {RangeError} When that many listen already.
   */
  listen(listener: () => void): () => void {
    if (this.#listeners.size >= HUB_LISTENERS_MAX) {
      throw new RangeError(`at most ${HUB_LISTENERS_MAX} hub listeners`);
    }
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Resolves once the hub has seen a position after `cursor`, or after `timeoutMs`, or when
   * `signal` aborts or the hub closes; says which.
   */
  waitBeyond(
    cursor: number,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<"new" | "timeout" | "ended"> {
    if (this.#head > cursor) return Promise.resolve("new");
    if (signal.aborted || this.#stop.signal.aborted) return Promise.resolve("ended");
    return new Promise((resolve) => {
      const finish = (outcome: "new" | "timeout" | "ended") => {
        clearTimeout(timer);
        this.#waiters.delete(wake);
        signal.removeEventListener("abort", ended);
        this.#stop.signal.removeEventListener("abort", ended);
        resolve(outcome);
      };
      const wake = () => finish("new");
      const ended = () => finish("ended");
      const timer = setTimeout(() => finish("timeout"), timeoutMs);
      this.#waiters.add(wake);
      signal.addEventListener("abort", ended, { once: true });
      this.#stop.signal.addEventListener("abort", ended, { once: true });
    });
  }

  /** Stops following the log and wakes every waiter. */
  async close(): Promise<void> {
    this.#stop.abort();
    await this.#done;
  }

  async #follow(): Promise<void> {
    try {
      for await (
        const fact of this.#store.subscribe({
          afterPosition: this.#head,
          signal: this.#stop.signal,
          // The hub only reads bodies: the store's newest facts come without a JSON parse.
          sharedBodies: true,
        })
      ) {
        this.#ring[fact.position % HUB_RING_ENTRIES_MAX] = this.entryOf(fact);
        this.#head = fact.position;
        if (this.#head - this.#ringStart >= HUB_RING_ENTRIES_MAX) {
          this.#ringStart = this.#head - HUB_RING_ENTRIES_MAX + 1;
        }
        // Caught up with the log's head: wake subscribers now, before the loop's next turn
        // commits the next group (which would otherwise delay these deliveries by one commit).
        // Still behind: the rest of the page follows in this turn; wake once it is in.
        if (this.#caughtUp(fact.position)) this.#wakeNow();
        else this.#scheduleWake();
      }
    } catch (error) {
      if (!this.#stop.signal.aborted) {
        console.error(`evirt: event hub stopped: ${(error as Error).message}`);
      }
    }
  }

  /**
   * Wakes waiters once per burst of facts, not once per fact: setImmediate runs once the page of
   * facts being read has been taken in (its microtasks are done), without the millisecond a
   * `setTimeout(0)` adds to every delivery.
   */
  #scheduleWake(): void {
    if (this.#wakeScheduled) return;
    this.#wakeScheduled = true;
    setImmediate(() => {
      this.#wakeScheduled = false;
      this.#wakeNow();
    });
  }

  /** Whether `position` is the log's head (a closing log counts as caught up). */
  #caughtUp(position: number): boolean {
    try {
      return position >= this.#store.headPosition();
    } catch {
      return true;
    }
  }

  #wakeNow(): void {
    for (const listener of this.#listeners) listener();
    if (this.#waiters.size === 0) return;
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) wake();
  }
}
