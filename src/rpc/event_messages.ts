/**
 * Domain events on the wire: which RPC messages an event-stream message becomes, for callbacks
 * registered the new way (`CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY`: the message carries the
 * callback id) and the old way (`CONNECT_DOMAIN_EVENT_REGISTER_ANY`: it does not).
 *
 * @module
 */

import type { EventMessage } from "../api/views.ts";
import { EventId } from "../model/lifecycle.ts";
import { domainType, nonnullString, optionalString, type WireDomain } from "./protocol.ts";
import { x, type XdrType } from "./xdr.ts";

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
    case EventId.BALLOON_CHANGE:
      return [{ eventId: EventId.BALLOON_CHANGE, fields: { actual: Number(data.actual ?? 0) } }];
    case EventId.DEVICE_REMOVED:
      return [{ eventId: EventId.DEVICE_REMOVED, fields: { devAlias: String(data.alias ?? "") } }];
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

/**
 * The procedure and body type of an event for a registration, or undefined when the event has
 * no form for that style (metadata change without callback ids).
 */
export function eventWire(
  eventId: number,
  callbackId: number | null,
):
  | { proc: number; type: XdrType; value: (domain: WireDomain, fields: object) => unknown }
  | undefined {
  const wire = EVENT_WIRES.get(eventId);
  if (wire === undefined) return undefined;
  if (callbackId === null) {
    if (wire.legacyProc === undefined) return undefined;
    return { proc: wire.legacyProc, type: wire.body, value: (dom, fields) => ({ dom, ...fields }) };
  }
  if (wire.flat) {
    return {
      proc: wire.callbackProc,
      type: x.struct(["callbackID", x.int], ...structFields(wire.body)),
      value: (dom, fields) => ({ callbackID: callbackId, dom, ...fields }),
    };
  }
  const type = wire.withReason
    ? x.struct(["callbackID", x.int], ["reason", x.int], ["msg", wire.body])
    : x.struct(["callbackID", x.int], ["msg", wire.body]);
  return {
    proc: wire.callbackProc,
    type,
    value: (dom, fields) => ({ callbackID: callbackId, reason: 0, msg: { dom, ...fields } }),
  };
}

function structFields(type: XdrType): Array<readonly [string, XdrType]> {
  if (type.kind !== "struct") throw new TypeError("Event body must be a struct");
  return [...type.fields];
}
