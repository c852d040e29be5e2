/**
 * Event registration procedures: the new style (a callback id per registration, optionally for
 * one domain) and the old style (one registration per event id). The events themselves are sent
 * by the connection's relay from the log's tail; those of a domain another host of the fleet owns
 * from the fleet event stream (see `fleet_calls.ts`).
 *
 * @module
 */

import { lookupWire } from "./domain_lookup.ts";
import type { ProcedureTable } from "./procedure.ts";
import { ErrorCode, isVirtError } from "../model/errors.ts";
import { domainType, uuidText, type WireDomain } from "./protocol.ts";
import { x } from "./xdr.ts";

/** The event procedures. */
export const EVENT_PROCEDURES: ProcedureTable = {
  virConnectDomainEventCallbackRegisterAny: {
    proc: 316,
    readOnly: true,
    args: x.struct(["eventID", x.int], ["dom", x.optional(domainType)]),
    ret: x.struct(["callbackID", x.int]),
    handler: async (args: { eventID: number; dom: WireDomain | null }, context) => {
      const { host, fleet } = context.target();
      if (args.dom === null) return { callbackID: context.registerEvent(args.eventID, null, true) };
      let uuid: string;
      try {
        uuid = lookupWire(host, args.dom).uuid;
      } catch (error) {
        // A domain another host of the fleet owns: its events come from the fleet stream.
        const elsewhere = isVirtError(error) && error.code === ErrorCode.NO_DOMAIN &&
          fleet?.followElsewhere !== undefined &&
          fleet.ownerElsewhere(uuidText(args.dom.uuid)) !== undefined;
        if (!elsewhere) throw error;
        return { callbackID: await context.registerElsewhere(args.eventID, args.dom) };
      }
      return { callbackID: context.registerEvent(args.eventID, uuid, true) };
    },
  },
  virConnectDomainEventCallbackDeregisterAny: {
    proc: 317,
    readOnly: true,
    args: x.struct(["callbackID", x.int]),
    ret: x.void,
    handler: (args: { callbackID: number }, context) => {
      context.target();
      context.deregisterEvent(args.callbackID, true);
    },
  },
  virConnectDomainEventRegisterAny: {
    proc: 167,
    readOnly: true,
    args: x.struct(["eventID", x.int]),
    ret: x.void,
    handler: (args: { eventID: number }, context) => {
      context.target();
      context.registerEvent(args.eventID, null, false);
    },
  },
  virConnectDomainEventDeregisterAny: {
    proc: 168,
    readOnly: true,
    args: x.struct(["eventID", x.int]),
    ret: x.void,
    handler: (args: { eventID: number }, context) => {
      context.target();
      context.deregisterEvent(args.eventID, false);
    },
  },
};
