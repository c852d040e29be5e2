/**
 * Network events of libvirt's protocol: the registration procedures
 * (`virConnectNetworkEventRegisterAny`, `…DeregisterAny`) and the message a network's facts
 * become — `NETWORK_EVENT_LIFECYCLE` (defined, undefined, started, stopped).
 *
 * @module
 */

import type { AppliedNetworkFact } from "../../actors/networks.ts";
import type { ObjectEvent } from "./object_events.ts";
import { eventPacket } from "./object_events.ts";
import type { ProcedureTable } from "./procedure.ts";
import { nonnullString, uuidBytes, uuidType } from "./protocol.ts";
import { x } from "./xdr.ts";

/** `VIR_NETWORK_EVENT_ID_LIFECYCLE`. */
export const NETWORK_EVENT_LIFECYCLE = 0;

/** `REMOTE_PROC_NETWORK_EVENT_LIFECYCLE`. */
const PROC_LIFECYCLE = 315;

/** virNetworkEventLifecycleType, by the fact that causes it. */
const LIFECYCLE_OF: Readonly<Record<string, number>> = {
  "network.defined": 0,
  "network.undefined": 1,
  "network.started": 2,
  "network.stopped": 3,
};

const networkType = x.struct(["name", nonnullString], ["uuid", uuidType]);
const lifecycleMessage = x.struct(
  ["callbackID", x.int],
  ["net", networkType],
  ["event", x.int],
  ["detail", x.int],
);

/**
 * The events of freshly applied network facts.
 *
 * @example
 * ```ts ignore
 * for (const event of networkEventsOf(applied)) send(event.packet(callbackId));
 * ```
 */
export function networkEventsOf(applied: AppliedNetworkFact[]): ObjectEvent[] {
  return applied.flatMap((entry) => {
    const lifecycle = LIFECYCLE_OF[entry.fact.type];
    if (lifecycle === undefined) return [];
    // `net-create` records a transient definition before its start: libvirt reports only the
    // start.
    if (entry.fact.type === "network.defined" && !entry.fact.body.persistent) return [];
    const net = { name: entry.name, uuid: uuidBytes(entry.uuid) };
    return [{
      eventId: NETWORK_EVENT_LIFECYCLE,
      uuid: entry.uuid,
      packet: (callbackId: number) =>
        eventPacket(PROC_LIFECYCLE, lifecycleMessage, {
          callbackID: callbackId,
          net,
          event: lifecycle,
          detail: 0,
        }),
    }];
  });
}

/** The registration procedures. */
export const NETWORK_EVENT_PROCEDURES: ProcedureTable = {
  virConnectNetworkEventRegisterAny: {
    proc: 313,
    readOnly: true,
    args: x.struct(["eventID", x.int], ["net", x.optional(networkType)]),
    ret: x.struct(["callbackID", x.int]),
    handler: (
      args: { eventID: number; net: { name: string; uuid: Uint8Array } | null },
      context,
    ) => {
      const networks = context.target().networks;
      const uuid = args.net === null || networks === undefined
        ? null
        : networks.byName(args.net.name).uuid;
      return { callbackID: context.registerObjectEvent("network", args.eventID, uuid) };
    },
  },
  virConnectNetworkEventDeregisterAny: {
    proc: 314,
    readOnly: true,
    args: x.struct(["callbackID", x.int]),
    ret: x.void,
    handler: (args: { callbackID: number }, context) => {
      context.target();
      context.deregisterObjectEvent("network", args.callbackID);
    },
  },
};
