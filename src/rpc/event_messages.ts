/**
 * Domain events on the wire: which RPC messages an event-stream message becomes, for callbacks
 * registered the new way (`CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY`: the message carries the
 * callback id) and the old way (`CONNECT_DOMAIN_EVENT_REGISTER_ANY`: it does not).
 *
 * @module
 */

import type { EventMessage } from "../projections/event_message.ts";
import { EventId } from "../model/lifecycle.ts";
import { encodePacket } from "./packet.ts";
import {
  domainType,
  MessageStatus,
  MessageType,
  nonnullString,
  optionalString,
  REMOTE_PROGRAM,
  REMOTE_PROTOCOL_VERSION,
  type WireDomain,
} from "./protocol.ts";
import { encodeXdr, x, type XdrType } from "./xdr.ts";

/** How one event id travels: its message body and its procedures (new style, old style). */
interface EventWire {
  /** The body without the callback id (the old style's whole body). */
  body: XdrType;
  /** The new style's procedure. */
  callbackProc: number;
  /** The old style's procedure; undefined when the event exists only with callback ids. */
  legacyProc?: number;
  /** New-style body puts a `reason` int between the callback id and the body (pm events). */
  withReason?: boolean;
  /** New-style body is flat (metadata change): callback id, then the fields. */
  flat?: boolean;
}

const dom = ["dom", domainType] as const;

/** Event ids evirt emits, and their wire forms. */
export const EVENT_WIRES: ReadonlyMap<number, EventWire> = new Map<number, EventWire>([
  [EventId.LIFECYCLE, {
    body: x.struct(dom, ["event", x.int], ["detail", x.int]),
    callbackProc: 318,
    legacyProc: 107,
  }],
  [EventId.REBOOT, { body: x.struct(dom), callbackProc: 319, legacyProc: 169 }],
  [EventId.RTC_CHANGE, {
    body: x.struct(dom, ["offset", x.hyper]),
    callbackProc: 320,
    legacyProc: 170,
  }],
  [EventId.WATCHDOG, {
    body: x.struct(dom, ["action", x.int]),
    callbackProc: 321,
    legacyProc: 171,
  }],
  [EventId.IO_ERROR, {
    body: x.struct(dom, ["srcPath", nonnullString], ["devAlias", nonnullString], [
      "action",
      x.int,
    ]),
    callbackProc: 322,
    legacyProc: 172,
  }],
  [EventId.IO_ERROR_REASON, {
    body: x.struct(
      dom,
      ["srcPath", nonnullString],
      ["devAlias", nonnullString],
      ["action", x.int],
      ["reason", nonnullString],
    ),
    callbackProc: 324,
    legacyProc: 195,
  }],
  [EventId.BLOCK_JOB, {
    body: x.struct(dom, ["path", nonnullString], ["type", x.int], ["status", x.int]),
    callbackProc: 326,
    legacyProc: 241,
  }],
  [EventId.BLOCK_JOB_2, {
    body: x.struct(dom, ["dst", nonnullString], ["type", x.int], ["status", x.int]),
    callbackProc: 339,
    flat: true,
  }],
  [EventId.PMWAKEUP, {
    body: x.struct(dom),
    callbackProc: 329,
    legacyProc: 269,
    withReason: true,
  }],
  [EventId.PMSUSPEND, {
    body: x.struct(dom),
    callbackProc: 330,
    legacyProc: 270,
    withReason: true,
  }],
  [EventId.BALLOON_CHANGE, {
    body: x.struct(dom, ["actual", x.uhyper]),
    callbackProc: 331,
    legacyProc: 276,
  }],
  [EventId.PMSUSPEND_DISK, {
    body: x.struct(dom),
    callbackProc: 332,
    legacyProc: 292,
    withReason: true,
  }],
  [EventId.DEVICE_REMOVED, {
    body: x.struct(dom, ["devAlias", nonnullString]),
    callbackProc: 333,
    legacyProc: 311,
  }],
  [EventId.DEVICE_ADDED, {
    body: x.struct(dom, ["devAlias", nonnullString]),
    callbackProc: 354,
    flat: true,
  }],
  [EventId.DEVICE_REMOVAL_FAILED, {
    body: x.struct(dom, ["devAlias", nonnullString]),
    callbackProc: 367,
    flat: true,
  }],
  [EventId.METADATA_CHANGE, {
    body: x.struct(dom, ["type", x.int], ["nsuri", optionalString]),
    callbackProc: 379,
    flat: true,
  }],
]);

/** Highest event id of libvirt 9.0 (`VIR_DOMAIN_EVENT_ID_LAST` - 1). */
export const EVENT_ID_MAX = 26;

/** One libvirt event a log message is: its id and its body fields (without `dom`). */
export interface WireEvent {
  eventId: number;
  fields: Record<string, unknown>;
}

/**
 * The libvirt events an event-stream message is (none for bookkeeping facts). An I/O error is
 * both IO_ERROR and IO_ERROR_REASON, and PM suspend and wakeup are each a lifecycle event and
 * their own event, as libvirt emits them.
 *
 * @example
 * ```ts ignore
 * wireEventsOf(message); // [{ eventId: 0, fields: { event: 5, detail: 1 } }]
 * ```
 */
export function wireEventsOf(message: EventMessage): WireEvent[] {
  const data = message.data ?? {};
  switch (message.eventId) {
    case EventId.LIFECYCLE: {
      const lifecycle = message.lifecycle!;
      const events: WireEvent[] = [{
        eventId: EventId.LIFECYCLE,
        fields: { event: lifecycle.type, detail: lifecycle.detail },
      }];
      // PMSUSPENDED (7): memory → PMSUSPEND, disk → PMSUSPEND_DISK; STARTED (2)/wakeup (4) → PMWAKEUP.
      if (lifecycle.type === 7) {
        events.push({
          eventId: lifecycle.detail === 1 ? EventId.PMSUSPEND_DISK : EventId.PMSUSPEND,
          fields: {},
        });
      }
      if (lifecycle.type === 2 && lifecycle.detail === 4) {
        events.push({ eventId: EventId.PMWAKEUP, fields: {} });
      }
      return events;
    }
    case EventId.REBOOT:
      return [{ eventId: EventId.REBOOT, fields: {} }];
    case EventId.RTC_CHANGE:
      return [{ eventId: EventId.RTC_CHANGE, fields: { offset: Number(data.utcoffset ?? 0) } }];
    case EventId.WATCHDOG:
      return [{ eventId: EventId.WATCHDOG, fields: { action: Number(data.action ?? 0) } }];
    case EventId.IO_ERROR_REASON: {
      const base = {
        srcPath: String(data.srcPath ?? ""),
        devAlias: String(data.devAlias ?? ""),
        action: Number(data.action ?? 0),
      };
      return [
        { eventId: EventId.IO_ERROR, fields: base },
        {
          eventId: EventId.IO_ERROR_REASON,
          fields: { ...base, reason: String(data.reason ?? "") },
        },
      ];
    }
    case EventId.BLOCK_JOB_2: {
      // libvirt tells each block job event both ways: by the disk's path and by its target.
      const job = { type: Number(data.type ?? 0), status: Number(data.status ?? 0) };
      return [
        { eventId: EventId.BLOCK_JOB, fields: { path: String(data.path ?? ""), ...job } },
        { eventId: EventId.BLOCK_JOB_2, fields: { dst: String(data.disk ?? ""), ...job } },
      ];
    }
    case EventId.BALLOON_CHANGE:
      return [{ eventId: EventId.BALLOON_CHANGE, fields: { actual: Number(data.actual ?? 0) } }];
    case EventId.DEVICE_REMOVED:
      return [{ eventId: EventId.DEVICE_REMOVED, fields: { devAlias: String(data.alias ?? "") } }];
    case EventId.DEVICE_ADDED:
      return [{ eventId: EventId.DEVICE_ADDED, fields: { devAlias: String(data.alias ?? "") } }];
    case EventId.DEVICE_REMOVAL_FAILED:
      return [{
        eventId: EventId.DEVICE_REMOVAL_FAILED,
        fields: { devAlias: String(data.alias ?? "") },
      }];
    case EventId.METADATA_CHANGE:
      return [{
        eventId: EventId.METADATA_CHANGE,
        fields: {
          type: Number(data.type ?? 0),
          nsuri: data.nsuri === undefined ? null : String(data.nsuri),
        },
      }];
    default:
      return [];
  }
}

/** One libvirt event of a fact, encoded once for every connection that receives it. */
export interface EncodedEvent {
  eventId: number;
  /** The domain's uuid (registrations for one domain filter on it). */
  uuid: string;
  /** The whole old-style packet; undefined when the event has no old-style form. */
  legacyPacket?: Uint8Array;
  /** The new-style procedure. */
  callbackProc: number;
  /** The new-style body after its leading callback id. */
  callbackTail: Uint8Array;
  /**
   * New-style packets already built, by callback id: clients usually register the same ids (a
   * client's first callback is 0), so ten clients share one packet. Bounded by
   * {@linkcode CALLBACK_PACKETS_CACHED_MAX}.
   */
  packets: Map<number, Uint8Array>;
}

/** Callback ids whose packet one event keeps; others are built for each delivery. */
const CALLBACK_PACKETS_CACHED_MAX = 8;

const encodedCache = new WeakMap<object, EncodedEvent[]>();

/**
 * The libvirt events of a hub entry, encoded once per entry: entries of the hub's ring are shared
 * by every connection, so a fact costs one encoding however many clients follow it.
 *
 * @param key The hub entry (the cache key).
 * @param message Its event-stream message.
 * @param domain The domain as the events name it (asked only when the entry has events).
 *
 * @example
 * ```ts ignore
 * for (const event of encodedEvents(entry, entry.message, () => domain)) send(event.legacyPacket);
 * ```
 */
export function encodedEvents(
  key: object,
  message: EventMessage,
  domain: () => WireDomain,
): EncodedEvent[] {
  const cached = encodedCache.get(key);
  if (cached !== undefined) return cached;
  const events = wireEventsOf(message);
  const encoded: EncodedEvent[] = [];
  if (events.length > 0) {
    const dom = domain();
    for (const event of events) {
      const wire = EVENT_WIRES.get(event.eventId);
      if (wire === undefined) continue;
      const body = encodeXdr(wire.body, { dom, ...event.fields });
      // PM events put a reason (always 0) between the callback id and the body; the metadata
      // event is flat, which encodes the same bytes.
      const tail = wire.withReason ? concat(new Uint8Array(4), body) : body;
      encoded.push({
        eventId: event.eventId,
        uuid: message.domain.uuid,
        ...(wire.legacyProc === undefined
          ? {}
          : { legacyPacket: encodePacket(messageHeader(wire.legacyProc), body) }),
        callbackProc: wire.callbackProc,
        callbackTail: tail,
        packets: new Map(),
      });
    }
  }
  encodedCache.set(key, encoded);
  return encoded;
}

/** The new-style packet of an encoded event for one callback id. */
export function callbackPacket(event: EncodedEvent, callbackId: number): Uint8Array {
  const cached = event.packets.get(callbackId);
  if (cached !== undefined) return cached;
  const head = new Uint8Array(4);
  new DataView(head.buffer).setInt32(0, callbackId);
  const packet = encodePacket(messageHeader(event.callbackProc), concat(head, event.callbackTail));
  if (event.packets.size < CALLBACK_PACKETS_CACHED_MAX) event.packets.set(callbackId, packet);
  return packet;
}

function messageHeader(proc: number) {
  return {
    prog: REMOTE_PROGRAM,
    vers: REMOTE_PROTOCOL_VERSION,
    proc,
    type: MessageType.MESSAGE,
    serial: 0,
    status: MessageStatus.OK,
  };
}

function concat(left: Uint8Array, right: Uint8Array): Uint8Array {
  const out = new Uint8Array(left.length + right.length);
  out.set(left);
  out.set(right, left.length);
  return out;
}
