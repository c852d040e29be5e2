/**
 * Secret events of libvirt's protocol: the registration procedures
 * (`virConnectSecretEventRegisterAny`, `…DeregisterAny`) and the messages a secret's changes
 * become — `SECRET_EVENT_LIFECYCLE` (defined, undefined) and `SECRET_EVENT_VALUE_CHANGED`.
 * A value change tells that the value changed, never the value.
 *
 * @module
 */

import type { SecretChange } from "../../actors/secrets.ts";
import type { ObjectEvent } from "./object_events.ts";
import { eventPacket } from "./object_events.ts";
import type { ProcedureTable } from "./procedure.ts";
import { uuidText } from "./protocol.ts";
import { secretType, type WireSecret, wireSecret } from "./secret_procedures.ts";
import { x } from "./xdr.ts";

/** `VIR_SECRET_EVENT_ID_LIFECYCLE`. */
export const SECRET_EVENT_LIFECYCLE = 0;

/** `VIR_SECRET_EVENT_ID_VALUE_CHANGED`. */
export const SECRET_EVENT_VALUE_CHANGED = 1;

/** `REMOTE_PROC_SECRET_EVENT_LIFECYCLE`, `REMOTE_PROC_SECRET_EVENT_VALUE_CHANGED`. */
const PROC_LIFECYCLE = 382;
const PROC_VALUE_CHANGED = 383;

/** virSecretEventLifecycleType. */
const LIFECYCLE_OF = { defined: 0, undefined: 1 } as const;

const lifecycleMessage = x.struct(
  ["callbackID", x.int],
  ["secret", secretType],
  ["event", x.int],
  ["detail", x.int],
);
const valueChangedMessage = x.struct(["callbackID", x.int], ["secret", secretType]);

/**
 * The event of a secret's change.
 *
 * @example
 * ```ts ignore
 * secrets.onChange((change) => secretEventsOf([change]).forEach((event) => send(event.packet(id))));
 * ```
 */
export function secretEventsOf(changes: SecretChange[]): ObjectEvent[] {
  return changes.map((change) => {
    const secret = wireSecret(change.secret);
    if (change.kind === "value_changed") {
      return {
        eventId: SECRET_EVENT_VALUE_CHANGED,
        uuid: change.secret.uuid,
        packet: (callbackId: number) =>
          eventPacket(PROC_VALUE_CHANGED, valueChangedMessage, { callbackID: callbackId, secret }),
      };
    }
    return {
      eventId: SECRET_EVENT_LIFECYCLE,
      uuid: change.secret.uuid,
      packet: (callbackId: number) =>
        eventPacket(PROC_LIFECYCLE, lifecycleMessage, {
          callbackID: callbackId,
          secret,
          event: LIFECYCLE_OF[change.kind],
          detail: 0,
        }),
    };
  });
}

/** The registration procedures. */
export const SECRET_EVENT_PROCEDURES: ProcedureTable = {
  virConnectSecretEventRegisterAny: {
    proc: 380,
    readOnly: true,
    args: x.struct(["eventID", x.int], ["secret", x.optional(secretType)]),
    ret: x.struct(["callbackID", x.int]),
    handler: (args: { eventID: number; secret: WireSecret | null }, context) => {
      const secrets = context.target().secrets;
      const uuid = args.secret === null || secrets === undefined
        ? null
        : secrets.byUuid(uuidText(args.secret.uuid)).uuid;
      return { callbackID: context.registerObjectEvent("secret", args.eventID, uuid) };
    },
  },
  virConnectSecretEventDeregisterAny: {
    proc: 381,
    readOnly: true,
    args: x.struct(["callbackID", x.int]),
    ret: x.void,
    handler: (args: { callbackID: number }, context) => {
      context.target();
      context.deregisterObjectEvent("secret", args.callbackID);
    },
  },
};
