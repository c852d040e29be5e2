/**
 * The events of domains other hosts of the fleet own, for one connection's callbacks registered
 * on such a domain (`fleet_calls.ts`): the fleet stream's facts of the other hosts from the
 * registration on, as the libvirt events the local relay would send for them.
 *
 * The reader pulls (the fleet stream reader holds one bounded batch) and waits while the
 * connection's outgoing queue is full, so a client that does not read holds back only itself,
 * and is dropped as the local relay drops it.
 *
 * @module
 */

import type { Fact } from "../log/event_store.ts";
import { eventMessage } from "../projections/event_message.ts";
import { type EncodedEvent, encodedEvents } from "./event_messages.ts";
import type { WireDomain } from "./protocol.ts";

/** What a feed needs from its connection. */
export interface FeedTarget {
  /** The domain a callback of the connection waits for, by uuid; undefined: none. */
  wanted(uuid: string): WireDomain | undefined;
  /** Sends the events; false when the connection ended (the feed stops). */
  deliver(events: EncodedEvent[]): Promise<boolean>;
  /** The feed failed (the fleet stream could not be read): the connection logs and ends. */
  failed(error: unknown): void;
}

/**
 * One connection's reader of the fleet stream.
 *
 * @example
 * ```ts ignore
 * const feed = await FleetEventFeed.start(fleet.followElsewhere, target);
 * feed.stop();
 * ```
 */
export class FleetEventFeed {
  readonly #stop: AbortController;

  private constructor(stop: AbortController) {
    this.#stop = stop;
  }

  /** Starts reading from now on; resolves once where it starts is fixed. */
  static async start(
    follow: (signal: AbortSignal) => Promise<AsyncIterable<Fact>>,
    target: FeedTarget,
  ): Promise<FleetEventFeed> {
    const stop = new AbortController();
    const facts = await follow(stop.signal);
    void (async () => {
      try {
        for await (const fact of facts) {
          if (stop.signal.aborted) return;
          const message = eventMessage(fact, (uuid) => target.wanted(uuid)?.name);
          if (message === undefined) continue;
          const domain = target.wanted(message.domain.uuid);
          if (domain === undefined) continue;
          const events = encodedEvents(fact, message, () => domain);
          if (events.length > 0 && !await target.deliver(events)) return;
        }
      } catch (error) {
        if (!stop.signal.aborted) target.failed(error);
      }
    })();
    return new FleetEventFeed(stop);
  }

  /** Stops reading; idempotent. */
  stop(): void {
    this.#stop.abort();
  }
}
