/**
 * The fleet's one event stream on NATS JetStream: the stream `EVIRT_FLEET` sources the facts
 * subject of every host's domain log, so every host's facts are in one order with one sequence,
 * readable (and resumable) from any host.
 *
 * A host joins by adding its log to the sources (a read-modify-write of the stream's
 * configuration, retried until its source is there). Each message is a commit group of the host
 * log (see `nats_store.ts`); a reader assembles the parts per host subject and yields each fact
 * with the sequence of its group's last part and its index in the group: `SEQ:INDEX`, resumable.
 *
 * @module
 */

import type { NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { StoredFact } from "./fact_storage.ts";
import { collectPart, joinParts, type PartialGroup } from "./nats_groups.ts";

/** The fleet stream's name. */
export const FLEET_STREAM = "EVIRT_FLEET";

/**
 * How far before a resume point a reader starts, in messages, to find the first parts of the
 * group it resumes inside: a group cut by more than this many other messages cannot be resumed
 * inside (a bound on the work of one resume).
 */
export const FLEET_RESUME_BACKTRACK = 4096;

/** Longest wait for the fleet stream's configuration to take this host's source. */
const JOIN_TIMEOUT_MS = 15_000;

/** One fact as the fleet stream delivers it. */
export interface FleetFact {
  /** The sequence of its commit group's last message in the fleet stream. */
  seq: number;
  /** Its index in that group. */
  index: number;
  /** The host whose log it belongs to. */
  host: string;
  /** The fact as the host's log stored it. */
  fact: StoredFact;
}

/** Where a reader resumes: strictly after fact `index` of the group ending at `seq`. */
export interface FleetPosition {
  seq: number;
  index: number;
}

/**
 * Parses a fleet resume id: `SEQ:INDEX`, or `SEQ` (after the whole group ending at SEQ).
 *
 * @returns The position, or undefined when the text is not one.
 */
export function parseFleetPosition(text: string): FleetPosition | undefined {
  const match = /^([0-9]{1,15})(?::([0-9]{1,6}))?$/.exec(text);
  if (match === null) return undefined;
  return { seq: Number(match[1]), index: match[2] === undefined ? Infinity : Number(match[2]) };
}

/** The id of a fleet fact: `SEQ:INDEX`. */
export function fleetId(fact: FleetFact): string {
  return `${fact.seq}:${fact.index}`;
}

/**
 * Adds `hostStream`'s facts subject to the fleet stream's sources (creating the stream first
 * when absent). Concurrent joins of several hosts each retry until their source is present.
 */
export async function joinFleetStream(
  connection: NatsConnection,
  hostStream: string,
  factsSubject: string,
  replicas = 1,
): Promise<void> {
  const manager = await jetstreamManager(connection);
  const source = { name: hostStream, filter_subject: factsSubject };
  const deadline = Date.now() + JOIN_TIMEOUT_MS;
  for (;;) {
    try {
      let info;
      try {
        info = await manager.streams.info(FLEET_STREAM);
      } catch (error) {
        if (!/not found/i.test(String(error))) throw error;
        await manager.streams.add({
          name: FLEET_STREAM,
          sources: [source],
          num_replicas: replicas,
          max_msgs: -1,
          max_bytes: -1,
          max_age: 0,
        });
        continue;
      }
      const sources = info.config.sources ?? [];
      if (sources.some((known) => known.name === hostStream)) return;
      await manager.streams.update(FLEET_STREAM, { ...info.config, sources: [...sources, source] });
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 200));
    }
  }
}

/**
 * Follows the fleet stream from just after `after` (from the beginning when undefined, from its
 * end for `"now"`), yielding
 * every fact of every host in the stream's order; ends when `signal` aborts.
 */
export async function* followFleet(
  connection: NatsConnection,
  after: FleetPosition | "now" | undefined,
  signal: AbortSignal,
): AsyncIterable<FleetFact> {
  const manager = await jetstreamManager(connection);
  const info = await manager.streams.info(FLEET_STREAM);
  // "now": after the stream's last message, whole (live facts only).
  if (after === "now") after = { seq: info.state.last_seq, index: Infinity };
  const first = info.state.first_seq;
  const start = after === undefined
    ? first
    : Math.max(first, after.seq - (after.index === Infinity ? -1 : FLEET_RESUME_BACKTRACK));
  const consumer = await jetstream(connection).consumers.get(FLEET_STREAM, {
    opt_start_seq: Math.max(1, start),
  });
  const assemblies = new Map<string, PartialGroup>();
  const decoder = new TextDecoder();
  while (!signal.aborted) {
    const batch = await consumer.fetch({ max_messages: 256, expires: 1000 });
    for await (const message of batch) {
      const group = collectPart(message, assemblies);
      if (group === undefined) continue;
      if (after !== undefined && message.seq < after.seq) continue;
      const host = hostOfSubject(message.subject);
      const document = JSON.parse(decoder.decode(joinParts(group.parts))) as {
        facts: StoredFact[];
      };
      for (let index = 0; index < document.facts.length; index++) {
        if (after !== undefined && message.seq === after.seq && index <= after.index) continue;
        yield { seq: message.seq, index, host, fact: document.facts[index] };
      }
      if (signal.aborted) return;
    }
  }
}

/** `evirt.log.HOST.facts` → `HOST`. */
function hostOfSubject(subject: string): string {
  return subject.split(".")[2] ?? "";
}
