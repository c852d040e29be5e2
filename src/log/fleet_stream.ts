/**
 * The fleet's one event stream on NATS JetStream: the stream `EVIRT_FLEET` holds a copy of the
 * facts of every host's domain log, so every host's facts are in one order with one sequence,
 * readable (and resumable) from any host.
 *
 * Each host relays its own log into it ({@linkcode relayToFleet}): an ordered consumer of its
 * facts subject, each message published again on `evirt.fleet.<host>.facts`, in order, with its
 * log sequence as the message id (so a copy is never stored twice) and in a header (so a relay
 * that starts again resumes after the last copy). JetStream's own sourcing is not used: Debian's
 * nats-server 2.9 applies a sourced message's `Nats-Expected-Last-Subject-Sequence` (the host
 * log's fencing) again on the sourcing stream, where it no longer holds, and stops sourcing that
 * host at the first message of another host in between. A host's facts reach the fleet stream
 * while its service runs (after a restart, from where its copy stopped).
 *
 * Each message is a commit group of the host log (see `nats_store.ts`); a reader assembles the
 * parts per host subject and yields each fact with the sequence of its group's last part and its
 * index in the group: `SEQ:INDEX`, resumable.
 *
 * @module
 */

import type { NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { headers as natsHeaders } from "@nats-io/transport-node";
import type { StoredFact } from "./fact_storage.ts";
import type { Fact, JsonValue } from "./event_store.ts";
import { factChecksum } from "./fact_checksum.ts";
import { collectPart, joinParts, type PartialGroup } from "./nats_groups.ts";

/** The fleet stream's name. */
export const FLEET_STREAM = "EVIRT_FLEET";

/**
 * How far before a resume point a reader starts, in messages, to find the first parts of the
 * group it resumes inside: a group cut by more than this many other messages cannot be resumed
 * inside (a bound on the work of one resume).
 */
export const FLEET_RESUME_BACKTRACK = 4096;

/** Messages a fleet reader holds ahead of what it has taken. */
const FOLLOW_BUFFER_MESSAGES = 256;

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

/** The fleet stream's subjects: one per host, `evirt.fleet.<host>.facts`. */
const FLEET_SUBJECTS = "evirt.fleet.>";

/** The header of a fleet copy naming its sequence in the host's log. */
const LOG_SEQ_HEADER = "Evirt-Log-Seq";

/** Headers a copy keeps: the commit group's (see `nats_groups.ts`). */
const GROUP_HEADERS = ["Evirt-Format", "Evirt-Group", "Evirt-Part"];

/** Pause before a failed copy is tried again. */
const RELAY_RETRY_MS = 500;

/**
 * Makes the fleet stream when absent (an older one that sourced the hosts' logs is changed to
 * take the relayed subjects instead).
 */
export async function ensureFleetStream(connection: NatsConnection, replicas = 1): Promise<void> {
  const manager = await jetstreamManager(connection);
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
          subjects: [FLEET_SUBJECTS],
          num_replicas: replicas,
          max_msgs: -1,
          max_bytes: -1,
          max_age: 0,
        });
        return;
      }
      if (info.config.subjects?.includes(FLEET_SUBJECTS)) return;
      await manager.streams.update(FLEET_STREAM, {
        ...info.config,
        subjects: [FLEET_SUBJECTS],
        sources: [],
      });
    } catch (error) {
      // Several hosts making it at once: one wins, the others find it at the next try.
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 200));
    }
  }
}

/** A running relay of one host's log into the fleet stream. */
export interface FleetRelay {
  /** Stops copying (what is not copied yet is copied by the next relay of this host). */
  stop(): Promise<void>;
}

/**
 * Copies the facts groups of `hostStream` (subject `factsSubject`) into the fleet stream as
 * `evirt.fleet.<host>.facts`, in order, from just after the last copy there; a copy that fails
 * is tried again until it lands (the message id makes a repeat harmless).
 */
export async function relayToFleet(
  connection: NatsConnection,
  host: string,
  hostStream: string,
  factsSubject: string,
  say: (message: string) => void,
): Promise<FleetRelay> {
  const manager = await jetstreamManager(connection);
  const client = jetstream(connection);
  const fleetSubject = `evirt.fleet.${host}.facts`;
  let after = 0;
  try {
    const last = await manager.streams.getMessage(FLEET_STREAM, { last_by_subj: fleetSubject });
    after = Number(last?.header.get(LOG_SEQ_HEADER) ?? 0) || 0;
  } catch (error) {
    if (!/not found/i.test(String(error))) throw error;
  }
  const consumer = await client.consumers.get(hostStream, {
    filter_subjects: factsSubject,
    opt_start_seq: after + 1,
  });
  const messages = await consumer.consume();
  let stopped = false;
  const running = (async () => {
    try {
      for await (const message of messages) {
        const headers = natsHeaders();
        for (const name of GROUP_HEADERS) {
          const value = message.headers?.get(name);
          if (value !== undefined && value !== "") headers.set(name, value);
        }
        headers.set(LOG_SEQ_HEADER, String(message.seq));
        for (let attempt = 0; !stopped; attempt++) {
          try {
            await client.publish(fleetSubject, message.data, {
              headers,
              msgID: `${host}:${message.seq}`,
            });
            break;
          } catch (error) {
            if (attempt === 0) say(`fleet stream: copy of ${host}:${message.seq} failed: ${error}`);
            await new Promise((resolve) => setTimeout(resolve, RELAY_RETRY_MS));
          }
        }
        if (stopped) return;
      }
    } catch (error) {
      if (!stopped) say(`fleet stream: the relay of ${host} stopped: ${error}`);
    }
  })();
  return {
    async stop() {
      stopped = true;
      messages.stop();
      await running;
    },
  };
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
  // A bounded buffer the server refills as the reader takes messages (at the reader's pace).
  const messages = await consumer.consume({ max_messages: FOLLOW_BUFFER_MESSAGES });
  const onAbort = () => messages.stop();
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    for await (const message of messages) {
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
  } finally {
    signal.removeEventListener("abort", onAbort);
    messages.stop();
  }
}

/** `evirt.fleet.HOST.facts` → `HOST`. */
function hostOfSubject(subject: string): string {
  return subject.split(".")[2] ?? "";
}

/**
 * The facts of every host but `host`, appended from now on, with their bodies read (a damaged
 * one is passed over); resolves once "now" is fixed, so nothing appended after it is missed.
 * Ends when `signal` aborts.
 *
 * @example
 * ```ts ignore
 * for await (const fact of await followOtherHosts(connection, "east", signal)) use(fact);
 * ```
 */
export async function followOtherHosts(
  connection: NatsConnection,
  host: string,
  signal: AbortSignal,
): Promise<AsyncIterable<Fact>> {
  const manager = await jetstreamManager(connection);
  const info = await manager.streams.info(FLEET_STREAM);
  const facts = followFleet(connection, { seq: info.state.last_seq, index: Infinity }, signal);
  return (async function* () {
    for await (const item of facts) {
      if (item.host === host || factChecksum(item.fact) !== item.fact.checksum) continue;
      const { bodyJson, checksum: _checksum, ...fact } = item.fact;
      yield { ...fact, body: JSON.parse(bodyJson) as JsonValue };
    }
  })();
}
