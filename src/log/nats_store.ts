/**
 * The {@linkcode EventStore} on NATS JetStream (`EVIRT_LOG=nats://…`): a host's log lives in a
 * JetStream stream of its own, so it survives the host's disk and can be read from other hosts,
 * while the store behaves exactly as the SQLite one (the same contract suite runs against both).
 *
 * Layout, for host `h` (stream `EVIRT_LOG_h`, subjects under `evirt.log.h.`):
 * - `facts`: one message group per commit (a batch of facts from group commit), so
 *   `appendMany` stays atomic: JetStream 2.9 has no multi-message transaction, so a commit is one
 *   JSON document, cut into parts of at most the server's `max_payload`; replay applies a group only
 *   when all its parts are there, and a group cut short by a crash was never acknowledged.
 * - `snapshots`: each snapshot as a group of the same kind; the newest two are kept.
 * - `retained`: the oldest retained position and every stream's version at the cut, written before
 *   pruned groups are purged, so versions survive retention.
 *
 * Each facts publish expects the subject's last sequence to be the one this store last wrote
 * (`Nats-Expected-Last-Subject-Sequence`): a second writer on the same host log — a stale
 * service, a copy started by mistake — is refused, and the store then refuses every later append
 * instead of writing on from a history it no longer holds. A publish whose answer is lost (a node
 * died, a leader is being elected) is sent again until `timeoutMs`: the expected sequence makes the
 * retry safe, since a first try that landed makes the retry fail and the subject's last message is
 * then ours. When the deadline passes with the outcome still unknown, the appenders get an error;
 * had the write landed after all, the next commit finds the sequence moved and the store stops as
 * superseded, so memory and the stream never disagree silently.
 *
 * Reads are served from a copy of the retained log in memory (read back at open, extended on each
 * acknowledged commit), bounded by `memoryMaxBytes`: use retention with this store. JetStream is
 * only told to write, never asked on the read path, so reads cost what they cost in memory.
 *
 * Durability: a commit is acknowledged once JetStream acknowledged it. Debian's nats-server 2.9
 * writes acknowledged messages to its files at once but has no `sync_interval: always` (2.10+),
 * so one node survives a killed server process but not a power loss; a cluster with 3 replicas
 * acknowledges only after a majority holds the write.
 *
 * @module
 */

import { connect, headers as natsHeaders, type NatsConnection } from "@nats-io/transport-node";
import {
  jetstream,
  type JetStreamClient,
  type JetStreamManager,
  jetstreamManager,
} from "@nats-io/jetstream";
import type { EventStore, EventStoreOptions } from "./event_store.ts";
import { EventStoreArgumentError, EventStoreCorruptError } from "./errors.ts";
import {
  type AppendedFact,
  type FactStorage,
  type StorageHead,
  type StoredFact,
  storedFact,
  type StoredSnapshot,
} from "./fact_storage.ts";
import { LogStore } from "./log_store.ts";
import { collectPart, joinParts, type PartialGroup } from "./nats_groups.ts";
import { acquireStateLock } from "./state_lock.ts";
import { MemoryStorage } from "./memory_store.ts";

/** Options of {@linkcode openNatsStore}. */
export interface NatsStoreOptions extends EventStoreOptions {
  /** The server(s), e.g. `nats://127.0.0.1:4222`; several comma-separated for a cluster. */
  servers: string;
  /** The host whose log this is: letters, digits, `-` and `_`; names the stream and subjects. */
  host: string;
  /** JetStream replicas of a new stream: 1, or 3 in a cluster. Default 1. */
  replicas?: number;
  /** Most ms any one request to the server may take (connect, publish, read). Default 10,000. */
  timeoutMs?: number;
  /** Most bytes of fact text the in-memory copy may hold; a commit past it is refused. Default 1 GiB. */
  memoryMaxBytes?: number;
  /**
   * The service's state directory, whose lock the store holds while open (as the SQLite store
   * does), so two services on one host never share it. Default: none.
   */
  stateDir?: string;
}

/** An {@linkcode EventStore} on JetStream. */
export interface NatsEventStore extends EventStore {
  /** The JetStream stream holding this host's log. */
  readonly streamName: string;
}

/** Default of {@linkcode NatsStoreOptions.timeoutMs}. */
export const NATS_TIMEOUT_MS_DEFAULT = 10_000;

/** Default of {@linkcode NatsStoreOptions.memoryMaxBytes}. */
export const NATS_MEMORY_MAX_BYTES_DEFAULT = 1024 * 1024 * 1024;

/** Room kept below the server's `max_payload` for a part's headers. */
const PART_HEADROOM_BYTES = 4096;

/** Pause between two tries of a publish whose answer was lost. */
const PUBLISH_RETRY_MS = 250;

/** The longest one attempt at creating the consumer that reads the log back may take, in ms. */
const CONSUMER_CREATE_ATTEMPT_MS = 2000;

/** Publish failures worth a retry: the server did not answer, or answered that it cannot yet. */
const RETRYABLE_PUBLISH =
  /unknown|timeout|timed out|no responders|disconnect|unavailable|503|not enabled|leader/i;

/** The format version of every message this store writes. */
const FORMAT = "1";

const HOST_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Opens (creating it when absent) the JetStream log of one host and reads it back.
 *
 * @param options Servers, host, replicas, timeouts, memory bound, and the store's own options.
 * @returns The open store; `close()` it to release the connection.
 * @throws {EventStoreArgumentError} For a malformed host or option.
 * @throws {EventStoreCorruptError} When the stream holds a group that does not follow the log.
 *
 * @example Opening a host's log on a local server
 * ```ts ignore
 * import { openNatsStore } from "./nats_store.ts";
 * const store = await openNatsStore({ servers: "nats://127.0.0.1:4222", host: "node1" });
 * console.log(store.streamName); // "EVIRT_LOG_node1"
 * await store.close();
 * ```
 */
export async function openNatsStore(options: NatsStoreOptions): Promise<NatsEventStore> {
  if (typeof options.host !== "string" || !HOST_PATTERN.test(options.host)) {
    throw new EventStoreArgumentError(
      "host",
      "host must be 1 to 64 letters, digits, '-' or '_'",
    );
  }
  const replicas = options.replicas ?? 1;
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5) {
    throw new EventStoreArgumentError("replicas", "replicas must be an integer from 1 to 5");
  }
  const timeoutMs = options.timeoutMs ?? NATS_TIMEOUT_MS_DEFAULT;
  const memoryMaxBytes = options.memoryMaxBytes ?? NATS_MEMORY_MAX_BYTES_DEFAULT;
  for (const [name, value] of [["timeoutMs", timeoutMs], ["memoryMaxBytes", memoryMaxBytes]]) {
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
      throw new EventStoreArgumentError(String(name), `${name} must be a positive integer`);
    }
  }
  const lock = options.stateDir === undefined ? undefined : acquireStateLock(options.stateDir);
  const release = () => lock?.release();
  let connection: NatsConnection;
  try {
    connection = await connect({
      servers: options.servers.split(",").map((server) => server.trim()),
      timeout: timeoutMs,
      name: `evirt-${options.host}`,
    });
  } catch (error) {
    release();
    throw error;
  }
  try {
    const storage = await NatsStorage.open(connection, {
      host: options.host,
      replicas,
      timeoutMs,
      memoryMaxBytes,
    });
    const {
      servers: _servers,
      host: _host,
      replicas: _replicas,
      timeoutMs: _timeout,
      memoryMaxBytes: _memory,
      stateDir: _stateDir,
      ...storeOptions
    } = options;
    const store = new LogStore(storage, storeOptions, release) as unknown as NatsEventStore;
    Object.defineProperty(store, "streamName", { value: storage.streamName, enumerable: true });
    return store;
  } catch (error) {
    await connection.close().catch(() => {});
    release();
    throw error;
  }
}
/** One commit's document: its facts and the streams' versions after it. */
interface CommitDocument {
  facts: StoredFact[];
  versions: [string, number][];
}

/** The `retained` record: where the log starts and every stream's version there. */
interface RetainedDocument {
  oldestPosition: number;
  versions: [string, number][];
}

interface StorageSettings {
  host: string;
  replicas: number;
  timeoutMs: number;
  memoryMaxBytes: number;
}

/** A snapshot's place in the stream: what `saveSnapshot` purges below. */
interface SnapshotRecord {
  snapshot: StoredSnapshot;
  firstSeq: number;
}

/** A commit's place in the stream: what retention purges below. */
interface GroupRecord {
  lastPosition: number;
  firstSeq: number;
}

/**
 * The {@linkcode FactStorage} on JetStream: writes go to the server and, once acknowledged, to
 * the in-memory copy every read is served from.
 */
class NatsStorage implements FactStorage {
  readonly streamName: string;
  readonly #connection: NatsConnection;
  readonly #client: JetStreamClient;
  readonly #manager: JetStreamManager;
  readonly #subjects: { facts: string; snapshots: string; retained: string };
  readonly #settings: StorageSettings;
  readonly #partBytes: number;
  #memory: MemoryStorage;
  #memoryBytes = 0;
  /** The facts subject's last sequence this store knows: the next publish expects it. */
  #lastFactsSeq = 0;
  #groups: GroupRecord[] = [];
  /** This open's id in group ids, so a group is told from another writer's at the same position. */
  readonly #writer = crypto.randomUUID().slice(0, 8);
  get #attemptMs(): number {
    return attemptMs(this.#settings.timeoutMs);
  }
  #snapshots: SnapshotRecord[] = [];

  private constructor(
    connection: NatsConnection,
    manager: JetStreamManager,
    settings: StorageSettings,
  ) {
    this.#connection = connection;
    this.#manager = manager;
    this.#client = jetstream(connection, { timeout: attemptMs(settings.timeoutMs) });
    this.#settings = settings;
    this.streamName = `EVIRT_LOG_${settings.host}`;
    const prefix = `evirt.log.${settings.host}`;
    this.#subjects = {
      facts: `${prefix}.facts`,
      snapshots: `${prefix}.snapshots`,
      retained: `${prefix}.retained`,
    };
    const maxPayload = connection.info?.max_payload ?? 1024 * 1024;
    this.#partBytes = Math.max(1024, maxPayload - PART_HEADROOM_BYTES);
    this.#memory = new MemoryStorage();
  }

  static async open(connection: NatsConnection, settings: StorageSettings): Promise<NatsStorage> {
    const manager = await jetstreamManager(connection, { timeout: attemptMs(settings.timeoutMs) });
    const storage = new NatsStorage(connection, manager, settings);
    await storage.#ensureStream();
    await storage.#readBack();
    return storage;
  }

  async #ensureStream(): Promise<void> {
    const subjects = [`evirt.log.${this.#settings.host}.>`];
    try {
      const info = await this.#manager.streams.info(this.streamName);
      if (info.config.subjects?.join() !== subjects.join()) {
        throw new EventStoreCorruptError(
          `JetStream stream ${this.streamName} holds subjects ${
            info.config.subjects?.join(", ")
          }, not ${subjects.join()}`,
        );
      }
    } catch (error) {
      if (!isNotFound(error)) throw error;
      // A cluster that is still forming has no peers to place replicas on yet: wait for it.
      await retryUntil(Date.now() + this.#settings.timeoutMs, () =>
        this.#manager.streams.add({
          name: this.streamName,
          subjects,
          num_replicas: this.#settings.replicas,
          // Facts are never dropped by JetStream's limits: only retention purges them.
          max_msgs: -1,
          max_bytes: -1,
          max_age: 0,
          allow_direct: true,
        }));
    }
  }

  /** Reads the whole stream in order and rebuilds the in-memory copy. */
  async #readBack(): Promise<void> {
    const info = await this.#manager.streams.info(this.streamName);
    const lastSeq = info.state.last_seq;
    const factGroups: { document: CommitDocument; firstSeq: number }[] = [];
    let retained: RetainedDocument | undefined;
    const partials = new Map<string, PartialGroup>();
    if (info.state.messages > 0) {
      let deadline = Date.now() + this.#settings.timeoutMs;
      // Short attempts: creating the reading consumer is quick when it works, and right after a
      // node's loss an attempt can wait out its whole time on a placement the lost node was
      // given (seen once: five attempts of 12 s each all timed out, while appends went on).
      const creating = jetstream(this.#connection, {
        timeout: Math.min(this.#attemptMs, CONSUMER_CREATE_ATTEMPT_MS),
      });
      const consumer = await retryUntil(
        deadline,
        () => creating.consumers.get(this.streamName, { opt_start_seq: info.state.first_seq }),
      );
      let seq = 0;
      while (seq < lastSeq) {
        if (Date.now() > deadline) {
          throw new Error(
            `reading ${this.streamName} back made no progress for ${this.#settings.timeoutMs} ms`,
          );
        }
        const batch = await consumer.fetch({ max_messages: 1000, expires: 2000 });
        for await (const message of batch) {
          deadline = Date.now() + this.#settings.timeoutMs;
          seq = message.seq;
          const group = collectPart(message, partials);
          if (group !== undefined) {
            const text = new TextDecoder().decode(joinParts(group.parts));
            if (message.subject === this.#subjects.facts) {
              factGroups.push({
                document: parseDocument<CommitDocument>(text, seq),
                firstSeq: group.firstSeq,
              });
              this.#lastFactsSeq = seq;
            } else if (message.subject === this.#subjects.snapshots) {
              this.#snapshots.push({
                snapshot: parseDocument<StoredSnapshot>(text, seq),
                firstSeq: group.firstSeq,
              });
            } else if (message.subject === this.#subjects.retained) {
              retained = parseDocument<RetainedDocument>(text, seq);
            }
          }
          if (message.subject === this.#subjects.facts) this.#lastFactsSeq = seq;
          if (seq >= lastSeq) break;
        }
      }
    }
    this.#rebuild(retained, factGroups);
    this.#snapshots.sort((a, b) => a.snapshot.position - b.snapshot.position);
  }

  #rebuild(
    retained: RetainedDocument | undefined,
    groups: readonly { document: CommitDocument; firstSeq: number }[],
  ): void {
    const oldest = retained?.oldestPosition ?? 1;
    this.#memory = new MemoryStorage(oldest, retained?.versions ?? []);
    for (const { document, firstSeq } of groups) {
      const facts = document.facts.filter((fact) => fact.position >= oldest);
      const last = document.facts.at(-1)?.position ?? 0;
      this.#groups.push({ lastPosition: last, firstSeq });
      if (facts.length === 0) continue;
      const head = this.#memory.head().headPosition;
      if (facts[0].position !== head + 1) {
        throw new EventStoreCorruptError(
          `JetStream stream ${this.streamName} holds position ${facts[0].position} where ${
            head + 1
          } belongs`,
        );
      }
      this.#memory.commit(facts, new Map(document.versions));
      this.#memoryBytes += textBytes(facts);
    }
  }

  head(): StorageHead {
    return this.#memory.head();
  }

  streamVersion(stream: string): number {
    return this.#memory.streamVersion(stream);
  }

  async commit(
    appended: readonly AppendedFact[],
    streamVersions: ReadonlyMap<string, number>,
  ): Promise<void> {
    const facts = appended.map(storedFact);
    const bytes = textBytes(facts);
    if (this.#memoryBytes + bytes > this.#settings.memoryMaxBytes) {
      throw new Error(
        `no space left in the NATS log's in-memory copy (${this.#settings.memoryMaxBytes} bytes): set a retention policy`,
      );
    }
    const document: CommitDocument = { facts: [...facts], versions: [...streamVersions] };
    const seqs = await this.#publishGroup(
      this.#subjects.facts,
      `f${facts[0].position}`,
      JSON.stringify(document),
      true,
    );
    this.#memory.commit(facts, streamVersions);
    this.#memoryBytes += bytes;
    this.#groups.push({ lastPosition: facts[facts.length - 1].position, firstSeq: seqs.first });
  }

  readAll(afterPosition: number, limit: number, maxBytes: number): StoredFact[] {
    return this.#memory.readAll(afterPosition, limit, maxBytes);
  }

  readStream(stream: string, fromVersion: number, limit: number, maxBytes: number): StoredFact[] {
    return this.#memory.readStream(stream, fromVersion, limit, maxBytes);
  }

  firstPositionAtOrAfter(timestampMs: number): number | undefined {
    return this.#memory.firstPositionAtOrAfter(timestampMs);
  }

  async removeThrough(position: number): Promise<number> {
    const versions = this.#memory.streamVersions();
    const record: RetainedDocument = { oldestPosition: position + 1, versions: [...versions] };
    await this.#publishGroup(
      this.#subjects.retained,
      `r${position + 1}`,
      JSON.stringify(record),
      false,
    );
    // Groups wholly below the cut can go; the one the cut falls in stays until it is passed.
    const keepFrom = this.#groups.findIndex((group) => group.lastPosition > position);
    // Only when some group lies below: JetStream reads a purge below sequence 1 as "purge all".
    if (keepFrom !== 0 && this.#groups.length > 0) {
      const purgeBelow = keepFrom === -1 ? this.#lastFactsSeq + 1 : this.#groups[keepFrom].firstSeq;
      await this.#manager.streams.purge(this.streamName, {
        filter: this.#subjects.facts,
        seq: purgeBelow,
      });
    }
    await this.#purgeAllBut(this.#subjects.retained, 1);
    this.#groups.splice(0, keepFrom === -1 ? this.#groups.length : keepFrom);
    const oldest = this.#memory.head().oldestPosition;
    const removed = this.#memory.readAll(oldest - 1, position - oldest + 1, Infinity);
    this.#memoryBytes -= textBytes(removed);
    return this.#memory.removeThrough(position);
  }

  async saveSnapshot(snapshot: StoredSnapshot, keepMax: number): Promise<void> {
    const seqs = await this.#publishGroup(
      this.#subjects.snapshots,
      `s${snapshot.position}.${snapshot.timestampMs}`,
      JSON.stringify(snapshot),
      false,
    );
    this.#snapshots.push({ snapshot: { ...snapshot }, firstSeq: seqs.first });
    this.#snapshots.sort((a, b) => a.snapshot.position - b.snapshot.position);
    const drop = Math.max(0, this.#snapshots.length - keepMax);
    if (drop > 0) {
      const oldestKept = Math.min(...this.#snapshots.slice(drop).map((record) => record.firstSeq));
      await this.#manager.streams.purge(this.streamName, {
        filter: this.#subjects.snapshots,
        seq: oldestKept,
      });
      this.#snapshots.splice(0, drop);
    }
  }

  loadSnapshot(): StoredSnapshot | undefined {
    const last = this.#snapshots.at(-1);
    return last === undefined ? undefined : { ...last.snapshot };
  }

  latestSnapshotPosition(): number | undefined {
    return this.#snapshots.at(-1)?.snapshot.position;
  }

  async deleteSnapshots(): Promise<void> {
    await this.#manager.streams.purge(this.streamName, { filter: this.#subjects.snapshots });
    this.#snapshots = [];
  }

  async close(): Promise<void> {
    this.#memory.close();
    await this.#connection.close();
  }

  /** Keeps only the newest `keep` messages of `subject`. */
  async #purgeAllBut(subject: string, keep: number): Promise<void> {
    await this.#manager.streams.purge(this.streamName, { filter: subject, keep });
  }

  /**
   * Publishes `text` as one group of parts. Facts groups expect the subject's last sequence to be
   * the one this store wrote last, so a second writer is refused.
   */
  async #publishGroup(
    subject: string,
    id: string,
    text: string,
    fenced: boolean,
  ): Promise<{ first: number; last: number }> {
    const bytes = new TextEncoder().encode(text);
    const count = Math.max(1, Math.ceil(bytes.length / this.#partBytes));
    let first = 0;
    let last = 0;
    for (let index = 0; index < count; index++) {
      const part = bytes.subarray(index * this.#partBytes, (index + 1) * this.#partBytes);
      const ack = await this.#publish(subject, part, {
        id,
        index,
        count,
        expect: fenced ? this.#lastFactsSeq : undefined,
      });
      if (fenced) this.#lastFactsSeq = ack;
      if (index === 0) first = ack;
      last = ack;
    }
    return { first, last };
  }

  async #publish(
    subject: string,
    data: Uint8Array,
    part: { id: string; index: number; count: number; expect?: number },
  ): Promise<number> {
    const header = natsHeaders();
    const id = `${part.id}.${this.#writer}`;
    const partText = `${part.index + 1}/${part.count}`;
    header.set("Evirt-Format", FORMAT);
    header.set("Evirt-Group", id);
    header.set("Evirt-Part", partText);
    // A publish whose answer is lost (a node dies, a leader is being elected) is sent again
    // until the deadline. The expected sequence makes that safe: if the first try landed, the
    // retry is refused, and the subject's last message, ours, says so.
    const deadline = Date.now() + this.#settings.timeoutMs;
    for (let attempt = 0;; attempt++) {
      try {
        const ack = await this.#client.publish(subject, data, {
          headers: header,
          // Tries short enough that a request lost with a dead node leaves time for more.
          timeout: Math.max(1, Math.min(this.#attemptMs, deadline - Date.now())),
          expect: part.expect === undefined ? undefined : { lastSubjectSequence: part.expect },
        });
        return ack.seq;
      } catch (error) {
        const failure = describePublishFailure(error, this.streamName);
        const landed = attempt > 0 && /superseded/.test(failure.message)
          ? await this.#landed(subject, id, partText)
          : undefined;
        if (landed !== undefined) return landed;
        if (!RETRYABLE_PUBLISH.test(failure.message) || Date.now() >= deadline) throw failure;
        await new Promise((resolve) => setTimeout(resolve, PUBLISH_RETRY_MS));
      }
    }
  }

  /** The sequence of `subject`'s last message when it is this part of this group, else undefined. */
  async #landed(subject: string, id: string, part: string): Promise<number | undefined> {
    try {
      const last = await this.#manager.streams.getMessage(this.streamName, {
        last_by_subj: subject,
      });
      const ours = last?.header.get("Evirt-Group") === id && last.header.get("Evirt-Part") === part;
      return ours ? last.seq : undefined;
    } catch {
      return undefined;
    }
  }
}

/**
 * The longest one request may take: a fifth of the whole deadline, at least 2 s, so a request
 * lost with a dead node leaves time to try again on another.
 */
function attemptMs(timeoutMs: number): number {
  return Math.min(timeoutMs, Math.max(2000, Math.round(timeoutMs / 5)));
}

/** Runs `action` until it succeeds or `deadline` passes (then its last error is thrown). */
async function retryUntil<T>(deadline: number, action: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await action();
    } catch (error) {
      if (Date.now() >= deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, PUBLISH_RETRY_MS));
    }
  }
}

function parseDocument<T>(text: string, seq: number): T {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new EventStoreCorruptError(`JetStream message ${seq} is not valid JSON`, error);
  }
}

function textBytes(facts: readonly StoredFact[]): number {
  let bytes = 0;
  for (const fact of facts) bytes += fact.bodyJson.length + fact.stream.length + 64;
  return bytes;
}

function isNotFound(error: unknown): boolean {
  return error instanceof Error && /not found/i.test(error.message);
}

/**
 * Says what a failed publish means for the log: another writer (the store must stop), an
 * unknown outcome (worth a retry while the deadline allows), or another failure.
 */
function describePublishFailure(error: unknown, stream: string): Error {
  const message = error instanceof Error ? error.message : String(error);
  if (/wrong last sequence/i.test(message)) {
    return new Error(
      `another writer appended to ${stream} (${message}): this log was superseded`,
      { cause: error },
    );
  }
  if (RETRYABLE_PUBLISH.test(message)) {
    return new Error(`the outcome of a write to ${stream} is unknown (${message})`, {
      cause: error,
    });
  }
  return error instanceof Error ? error : new Error(message);
}
