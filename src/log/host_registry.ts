/**
 * The fleet's hosts on NATS JetStream: each service on a shared NATS log registers its host and
 * keeps a heartbeat; a host whose heartbeat stops for longer than the TTL is marked lost, once,
 * by whichever live host notices first; a host that comes back is alive again.
 *
 * Two KV buckets hold it:
 * - `evirt_hosts`: one record per host ever registered (name, drivers, capacity, when it started,
 *   whether it is lost and since when). Changes use the key's revision (compare and set), so two
 *   observers never both mark one host lost, and a returning host's registration wins over a
 *   concurrent "lost".
 * - `evirt_hosts_alive`: one key per host, rewritten at each heartbeat; the bucket's TTL removes
 *   the key of a host that stops, which is how the others tell.
 *
 * @module
 */

import type { NatsConnection } from "@nats-io/transport-node";
import { type KV, Kvm } from "@nats-io/kv";

/** What a host says about itself when it registers. */
export interface HostIdentity {
  /** The host's name (`EVIRT_HOST`). */
  name: string;
  /** The domain types its drivers run, e.g. `["test", "qemu", "kvm"]`. */
  drivers: string[];
  /** Its logical CPUs. */
  cpus: number;
  /** Its memory, in KiB. */
  memoryKiB: number;
}

/** A host as the fleet sees it. */
export interface FleetHost extends HostIdentity {
  /** `alive` while its heartbeat arrives, `lost` once it stopped for longer than the TTL. */
  state: "alive" | "lost";
  /** When its service registered, ms since the epoch. */
  startedAtMs: number;
  /** Its last heartbeat seen, ms since the epoch (0 when none is left). */
  heartbeatAtMs: number;
  /** When it was marked lost; absent while alive. */
  lostAtMs?: number;
}

/** A change of a host's state, as the observer that made it saw it. */
export interface HostChange {
  host: string;
  state: "alive" | "lost";
  atMs: number;
}

/** Options of {@linkcode HostRegistry.open}. */
export interface HostRegistryOptions {
  /** This host. */
  identity: HostIdentity;
  /** How long a heartbeat stays valid, in ms; heartbeats come three times as often. Default 10 s. */
  ttlMs?: number;
  /** Called for each host this registry marks lost (not for its own host). */
  onChange?: (change: HostChange) => void;
  /** The clock, ms since the epoch. Default `Date.now`. */
  now?: () => number;
}

/** Default of {@linkcode HostRegistryOptions.ttlMs}. */
export const HOST_TTL_MS_DEFAULT = 10_000;

/** Shortest TTL accepted: below it a busy host would flap. */
export const HOST_TTL_MS_MIN = 1000;

/** The registration records. */
export const HOSTS_BUCKET = "evirt_hosts";

/** The heartbeats. */
export const HOSTS_ALIVE_BUCKET = "evirt_hosts_alive";

/** Most hosts a listing reads: a bound on one request's work. */
export const HOSTS_LISTED_MAX = 10_000;

interface HostRecord extends HostIdentity {
  startedAtMs: number;
  lostAtMs?: number;
}

/** A host's registration and heartbeat on the shared NATS server. */
export class HostRegistry {
  readonly #records: KV;
  readonly #alive: KV;
  readonly #identity: HostIdentity;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #onChange: (change: HostChange) => void;
  readonly #startedAtMs: number;
  #timer: ReturnType<typeof setInterval> | undefined;
  #beating: Promise<void> | undefined;

  private constructor(records: KV, alive: KV, options: HostRegistryOptions, ttlMs: number) {
    this.#records = records;
    this.#alive = alive;
    this.#identity = { ...options.identity };
    this.#ttlMs = ttlMs;
    this.#now = options.now ?? Date.now;
    this.#onChange = options.onChange ?? (() => {});
    this.#startedAtMs = this.#now();
  }

  /**
   * Registers this host (alive, whatever its record said) and starts its heartbeat.
   *
   * @throws {RangeError} For a TTL below {@linkcode HOST_TTL_MS_MIN}.
   */
  static async open(
    connection: NatsConnection,
    options: HostRegistryOptions,
  ): Promise<HostRegistry> {
    const ttlMs = options.ttlMs ?? HOST_TTL_MS_DEFAULT;
    if (!Number.isSafeInteger(ttlMs) || ttlMs < HOST_TTL_MS_MIN) {
      throw new RangeError(`the host TTL must be at least ${HOST_TTL_MS_MIN} ms, got ${ttlMs}`);
    }
    const kvm = new Kvm(connection);
    const records = await kvm.create(HOSTS_BUCKET, { history: 1 });
    // The bucket's TTL is its heartbeat validity: every host must agree on it, so an existing
    // bucket's value wins over this host's option.
    const alive = await kvm.create(HOSTS_ALIVE_BUCKET, { history: 1, ttl: ttlMs });
    const effectiveTtl = Math.round(((await alive.status()).ttl) || ttlMs);
    const registry = new HostRegistry(records, alive, options, effectiveTtl);
    await registry.#register();
    await registry.#heartbeat();
    registry.#timer = setInterval(() => {
      // One beat at a time: a slow server never piles them up.
      registry.#beating ??= registry.#beat().finally(() => registry.#beating = undefined);
    }, Math.max(100, Math.floor(effectiveTtl / 3)));
    return registry;
  }

  /** The heartbeat validity every host of this fleet uses, in ms. */
  get ttlMs(): number {
    return this.#ttlMs;
  }

  /** Every host registered in the fleet, by name, with its state. */
  async hosts(): Promise<FleetHost[]> {
    const now = this.#now();
    const views: FleetHost[] = [];
    for (const name of await this.#keys(this.#records)) {
      const record = await this.#read<HostRecord>(this.#records, name);
      if (record === undefined) continue;
      const beat = await this.#read<{ atMs: number }>(this.#alive, name);
      const alive = beat !== undefined && now - beat.atMs <= this.#ttlMs;
      views.push({
        name: record.name,
        drivers: record.drivers,
        cpus: record.cpus,
        memoryKiB: record.memoryKiB,
        startedAtMs: record.startedAtMs,
        heartbeatAtMs: beat?.atMs ?? 0,
        state: alive ? "alive" : "lost",
        ...(alive ? {} : { lostAtMs: record.lostAtMs ?? (beat?.atMs ?? 0) + this.#ttlMs }),
      });
    }
    return views.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Stops the heartbeat; the host is marked lost by the others once its TTL passes. */
  async close(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#beating;
  }

  async #register(): Promise<void> {
    const record: HostRecord = { ...this.#identity, startedAtMs: this.#startedAtMs };
    await this.#records.put(this.#identity.name, JSON.stringify(record));
  }

  async #heartbeat(): Promise<void> {
    await this.#alive.put(this.#identity.name, JSON.stringify({ atMs: this.#now() }));
  }

  /** One heartbeat, then a look for hosts whose heartbeat expired. */
  async #beat(): Promise<void> {
    try {
      await this.#heartbeat();
      await this.#markLost();
    } catch {
      // The server is away: the next beat tries again; the others will see this host lost if
      // it stays away longer than the TTL, which is what it then is.
    }
  }

  /** Marks lost every registered host with no valid heartbeat, unless another observer did. */
  async #markLost(): Promise<void> {
    const now = this.#now();
    for (const name of await this.#keys(this.#records)) {
      if (name === this.#identity.name) continue;
      const entry = await this.#records.get(name);
      if (entry === null || entry.operation !== "PUT") continue;
      const record = entry.json<HostRecord>();
      if (record.lostAtMs !== undefined) continue;
      const beat = await this.#read<{ atMs: number }>(this.#alive, name);
      if (beat !== undefined && now - beat.atMs <= this.#ttlMs) continue;
      try {
        await this.#records.update(
          name,
          JSON.stringify({ ...record, lostAtMs: now }),
          entry.revision,
        );
      } catch {
        continue; // Another observer marked it, or the host registered again: theirs stands.
      }
      this.#onChange({ host: name, state: "lost", atMs: now });
    }
  }

  async #keys(bucket: KV): Promise<string[]> {
    const names: string[] = [];
    for await (const key of await bucket.keys()) {
      names.push(key);
      if (names.length >= HOSTS_LISTED_MAX) break;
    }
    return names;
  }

  async #read<T>(bucket: KV, key: string): Promise<T | undefined> {
    const entry = await bucket.get(key);
    if (entry === null || entry.operation !== "PUT") return undefined;
    try {
      return entry.json<T>();
    } catch {
      return undefined;
    }
  }
}
