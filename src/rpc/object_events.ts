/**
 * What the event relays of storage pools, networks and secrets share: an event as the connection sends
 * it (its event id, its object's uuid, and its packet for a callback id), the kinds of object
 * whose events a connection registers, and the packet of an event message.
 *
 * @module
 */

import { encodePacket } from "./packet.ts";
import { MessageStatus, MessageType, REMOTE_PROGRAM, REMOTE_PROTOCOL_VERSION } from "./protocol.ts";
import { encodeXdr, type x } from "./xdr.ts";

/** The kinds of object with their own event registrations (domains have theirs apart). */
export type EventObjectKind = "pool" | "network" | "secret";

/** One event a batch of facts makes: its event id, object, and its packet for a callback id. */
export interface ObjectEvent {
  eventId: number;
  uuid: string;
  packet(callbackId: number): Uint8Array;
}

/** The packet of an event message of procedure `proc`. */
export function eventPacket(
  proc: number,
  type: ReturnType<typeof x.struct>,
  value: unknown,
): Uint8Array {
  return encodePacket({
    prog: REMOTE_PROGRAM,
    vers: REMOTE_PROTOCOL_VERSION,
    proc,
    type: MessageType.MESSAGE,
    serial: 0,
    status: MessageStatus.OK,
  }, encodeXdr(type, value));
}
