/**
 * The event stream's message for a fact, and subscribers' filters.
 *
 * @module
 */

import {
  type DomainFact,
  isDomainFactType,
  type LibvirtEvent,
  libvirtEventOf,
  uuidOfStream,
} from "../model/facts.ts";
import type { Fact } from "../log/event_store.ts";

/** One message of the event stream: one fact of the log. */
export interface EventMessage {
  /** The fact's global position: resume after it with `since` or `Last-Event-ID`. */
  position: number;
  /** When the fact was recorded, ISO 8601. */
  time: string;
  /** The domain the fact is about. */
  domain: { uuid: string; name: string };
  /** The fact's type in the log, e.g. `domain.started`. */
  fact: string;
  /** The libvirt event id, or null for facts libvirt has no event for (e.g. `domain.launched`). */
  eventId: number | null;
  /** virsh's name of the event id (`lifecycle`, `reboot`, …), or null. */
  event: string | null;
  /** For lifecycle events: type and detail, numbers and names. */
  lifecycle?: LibvirtEvent["lifecycle"];
  /** Event-specific data (`actual` for balloon-change, …). */
  data?: Record<string, string | number>;
}

/** What a subscriber asked for. */
export interface EventFilter {
  /** Only these domains (uuids); undefined for all. */
  uuids?: ReadonlySet<string>;
  /** Only these event names (`lifecycle`, `reboot`, …); undefined for every fact. */
  events?: ReadonlySet<string>;
}

/**
 * The message for a fact, or undefined when the fact is not about a domain.
 *
 * @param nameOf The domain's name by uuid (the log's facts carry the uuid).
 * @example
 * ```ts ignore
 * const message = eventMessage(fact, (uuid) => host.nameOfUuid(uuid));
 * ```
 */
export function eventMessage(
  fact: Fact,
  nameOf: (uuid: string) => string | undefined,
): EventMessage | undefined {
  const uuid = uuidOfStream(fact.stream);
  if (uuid === undefined || !isDomainFactType(fact.type)) return undefined;
  const libvirt = libvirtEventOf({ type: fact.type, body: fact.body } as DomainFact);
  return {
    position: fact.position,
    time: new Date(fact.timestampMs).toISOString(),
    domain: { uuid, name: nameOf(uuid) ?? "" },
    fact: fact.type,
    eventId: libvirt?.eventId ?? null,
    event: libvirt?.event ?? null,
    ...(libvirt?.lifecycle === undefined ? {} : { lifecycle: libvirt.lifecycle }),
    ...(libvirt?.data === undefined ? {} : { data: libvirt.data }),
  };
}

/** Whether a message passes a subscriber's filter. */
export function passes(message: EventMessage, filter: EventFilter): boolean {
  if (filter.uuids !== undefined && !filter.uuids.has(message.domain.uuid)) return false;
  if (filter.events !== undefined) {
    if (message.event === null) return false;
    // A block job event is libvirt's BLOCK_JOB and BLOCK_JOB_2 at once (one message carries both).
    if (message.event === "block-job-2" && filter.events.has("block-job")) return true;
    return filter.events.has(message.event);
  }
  return true;
}
