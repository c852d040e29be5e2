/**
 * Commit groups on JetStream: a document cut into parts of at most the server's `max_payload`,
 * each part a message with headers `Evirt-Group` (the group's id) and `Evirt-Part` (`i/n`). The
 * host log (`nats_store.ts`) writes and reads them; the fleet stream (`fleet_stream.ts`) reads them.
 *
 * @module
 */

import { concatBytes } from "../model/byte_chunks.ts";
import type { JsMsg } from "@nats-io/jetstream";

/** A part of a group being read back. */
export interface PartialGroup {
  id: string;
  parts: Uint8Array[];
  count: number;
  firstSeq: number;
}

/** Adds a message to its group; returns the group once its last part arrived. */
export function collectPart(
  message: JsMsg,
  partials: Map<string, PartialGroup>,
): PartialGroup | undefined {
  const id = message.headers?.get("Evirt-Group") ?? "";
  const [index, count] = (message.headers?.get("Evirt-Part") ?? "1/1").split("/").map(Number);
  const key = message.subject;
  if (index === 1) partials.set(key, { id, parts: [], count, firstSeq: message.seq });
  const group = partials.get(key);
  // A part without its beginning belongs to a group cut short by a crash: never acknowledged.
  if (group === undefined || group.id !== id || group.parts.length !== index - 1) {
    partials.delete(key);
    return undefined;
  }
  group.parts.push(message.data);
  if (group.parts.length < group.count) return undefined;
  partials.delete(key);
  return group;
}

/** The document of a complete group: its parts joined. */
export function joinParts(parts: readonly Uint8Array[]): Uint8Array {
  return parts.length === 1 ? parts[0] : concatBytes(parts);
}
