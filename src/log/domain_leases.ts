/**
 * Domain ownership leases on NATS JetStream: every domain of the fleet is owned by exactly one
 * host, recorded in the KV bucket `evirt_leases` (a JetStream stream, so the record is durable and
 * replicated as the log is), one key per domain uuid.
 *
 * A lease names its owner, the domain's name, whether it was active at its last change, and the
 * domain's definition (so another host can take it over or receive it). Its expiry is its owner's
 * heartbeat (`host_registry.ts`): one heartbeat renews every lease of a host, and a lease expires
 * when its owner's heartbeat does.
 *
 * Every change is a compare-and-set on the key's revision (`create` for a new lease, `update`
 * with the revision read), so two hosts can never both own a domain: of two concurrent claims or
 * take-overs exactly one is accepted, the other refused.
 *
 * Each host keeps a copy of the whole table, followed from the bucket (a KV watch), so the
 * checks made on every command are answered without a round trip.
 *
 * @module
 */

import type { NatsConnection } from "@nats-io/transport-node";
import { type KV, Kvm, type KvWatchEntry } from "@nats-io/kv";
import { ErrorCode, VirtError } from "../model/errors.ts";
import type { DomainDefinition } from "../model/domain.ts";

/** The bucket's name. */
export const LEASES_BUCKET = "evirt_leases";

/** Most leases a host follows: a bound on the table's memory. */
export const LEASES_MAX = 100_000;

/**
 * Largest definition a lease carries, in bytes of JSON: a larger domain is owned as any other,
 * but cannot be taken over or moved (its lease says so).
 */
export const LEASE_DEFINITION_MAX_BYTES = 512 * 1024;

/** What a lease records. */
export interface LeaseRecord {
  /** The host that owns the domain. */
  owner: string;
  /** The domain's name. */
  name: string;
  /** Whether the domain was active when the lease last changed. */
  active: boolean;
  /** When the current owner took it, ms since the epoch. */
  sinceMs: number;
  /**
   * The domain's definition (persistent, else the running one); absent while it is being
   * defined, or when larger than {@linkcode LEASE_DEFINITION_MAX_BYTES}.
   */
  definition?: DomainDefinition;
  /**
   * Set when the lease was given to its owner (a move, a take-over) and the owner has not yet
   * defined the domain from it.
   */
  pending?: boolean;
}

/** A lease as the table holds it. */
export interface DomainLease extends LeaseRecord {
  uuid: string;
  /** The key's revision: what a compare-and-set expects. */
  revision: number;
}

/** The leases of the fleet, as one host sees and changes them. */
export class DomainLeases {
  readonly #bucket: KV;
  readonly #host: string;
  readonly #table = new Map<string, DomainLease>();
  readonly #listeners = new Set<(uuid: string) => void>();
  #watch: { stop(): void } | undefined;
  #following: Promise<void> | undefined;

  private constructor(bucket: KV, host: string) {
    this.#bucket = bucket;
    this.#host = host;
  }

  /** Opens the bucket (made when absent) and loads the table; then follows its changes. */
  static async open(
    connection: NatsConnection,
    host: string,
    replicas = 1,
  ): Promise<DomainLeases> {
    const bucket = await new Kvm(connection).create(LEASES_BUCKET, { history: 1, replicas });
    const leases = new DomainLeases(bucket, host);
    await leases.#follow();
    return leases;
  }

  /** This host's name. */
  get host(): string {
    return this.#host;
  }

  /** The lease of `uuid`, or undefined. */
  get(uuid: string): DomainLease | undefined {
    return this.#table.get(uuid);
  }

  /** The lease of the domain named `name` (names are unique in a fleet: the first found). */
  byName(name: string): DomainLease | undefined {
    for (const lease of this.#table.values()) if (lease.name === name) return lease;
    return undefined;
  }

  /** Every lease, by name. */
  all(): DomainLease[] {
    return [...this.#table.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Is told the uuid of every lease that changed (or went), after the table took the change. */
  onChange(listener: (uuid: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Owns `uuid` for this host: a new lease, or the one this host already has.
   *
   * @throws {VirtError} Code 87 when another host owns it (also when another host's claim won
   *   the race for it).
   */
  async claim(uuid: string, name: string): Promise<DomainLease> {
    const known = await this.#fresh(uuid);
    if (known !== undefined) {
      if (known.owner === this.#host) return known;
      throw ownedElsewhere(known);
    }
    const record: LeaseRecord = { owner: this.#host, name, active: false, sinceMs: Date.now() };
    try {
      const revision = await this.#bucket.create(uuid, JSON.stringify(record));
      return this.#took(uuid, record, revision);
    } catch (error) {
      const now = await this.#fresh(uuid);
      if (now !== undefined && now.owner !== this.#host) throw ownedElsewhere(now);
      if (now !== undefined) return now;
      throw error;
    }
  }

  /**
   * Rewrites a lease this host owns (its name, state or definition), or hands it to `owner`
   * (a move): a compare-and-set on the revision this host last read.
   *
   * @throws {VirtError} Code 87 when another host owns it, or it changed since (a concurrent
   *   move or take-over).
   */
  async update(uuid: string, change: Partial<LeaseRecord>): Promise<DomainLease> {
    const known = await this.#fresh(uuid);
    if (known === undefined) {
      throw new VirtError(ErrorCode.OPERATION_INVALID, `domain '${uuid}' has no lease`);
    }
    if (known.owner !== this.#host) throw ownedElsewhere(known);
    return await this.#swap(known, { ...leaseRecord(known), ...change });
  }

  /**
   * Takes the lease of `uuid` from `expected` (its owner, lost), keeping its record otherwise.
   *
   * @throws {VirtError} Code 87 when the lease is no longer `expected`'s as read (another host
   *   took it first, or its owner came back and changed it).
   */
  async takeOver(expected: DomainLease): Promise<DomainLease> {
    return await this.#swap(expected, {
      ...leaseRecord(expected),
      owner: this.#host,
      sinceMs: Date.now(),
      pending: true,
    });
  }

  /** The lease of `uuid` as the bucket has it now (not the followed table's copy). */
  read(uuid: string): Promise<DomainLease | undefined> {
    return this.#fresh(uuid);
  }

  /**
   * Takes the lease of `uuid` from the host that owns it at exactly `revision` (a live
   * migration's commit, by its destination, at the revision the source read).
   *
   * @throws {VirtError} Code 87 when it changed since (the source fenced it: no commit).
   */
  async receive(uuid: string, revision: number): Promise<DomainLease> {
    const known = await this.#fresh(uuid);
    if (known === undefined || known.revision !== revision) {
      throw new VirtError(
        ErrorCode.RESOURCE_BUSY,
        `the lease of domain '${uuid}' changed since the migration began: not committed`,
      );
    }
    return await this.#swap(known, {
      ...leaseRecord(known),
      owner: this.#host,
      active: true,
      sinceMs: Date.now(),
      pending: false,
    });
  }

  /** Ends this host's lease of `uuid` (the domain is gone); nothing when it is not this host's. */
  async release(uuid: string): Promise<void> {
    const known = await this.#fresh(uuid);
    if (known === undefined || known.owner !== this.#host) return;
    try {
      await this.#bucket.delete(uuid, { previousSeq: known.revision });
    } catch {
      return; // Changed since: whoever changed it holds it now.
    }
    this.#forget(uuid);
  }

  /** Stops following the bucket. */
  async close(): Promise<void> {
    this.#watch?.stop();
    await this.#following;
  }

  async #swap(from: DomainLease, record: LeaseRecord): Promise<DomainLease> {
    let text = JSON.stringify(record);
    if (text.length > LEASE_DEFINITION_MAX_BYTES) {
      const { definition: _dropped, ...rest } = record;
      record = rest;
      text = JSON.stringify(record);
    }
    try {
      const revision = await this.#bucket.update(from.uuid, text, from.revision);
      return this.#took(from.uuid, record, revision);
    } catch (error) {
      const now = await this.#fresh(from.uuid);
      if (now !== undefined && now.revision !== from.revision) {
        throw new VirtError(
          ErrorCode.RESOURCE_BUSY,
          `the lease of domain '${from.name}' changed meanwhile (owner now '${now.owner}')`,
        );
      }
      throw error;
    }
  }

  /** The lease as the bucket has it now (the table is updated from it). */
  async #fresh(uuid: string): Promise<DomainLease | undefined> {
    const entry = await this.#bucket.get(uuid);
    if (entry === null || entry.operation !== "PUT") {
      this.#forget(uuid);
      return undefined;
    }
    return this.#apply(entry);
  }

  #took(uuid: string, record: LeaseRecord, revision: number): DomainLease {
    const known = this.#table.get(uuid);
    if (known !== undefined && known.revision > revision) return known;
    const lease = { ...record, uuid, revision };
    this.#table.set(uuid, lease);
    this.#tell(uuid);
    return lease;
  }

  #apply(entry: KvWatchEntry | NonNullable<Awaited<ReturnType<KV["get"]>>>): DomainLease {
    const known = this.#table.get(entry.key);
    if (known !== undefined && known.revision >= entry.revision) return known;
    const record = entry.json<LeaseRecord>();
    const lease = { ...record, uuid: entry.key, revision: entry.revision };
    if (this.#table.size >= LEASES_MAX && known === undefined) return lease;
    this.#table.set(entry.key, lease);
    this.#tell(entry.key);
    return lease;
  }

  #forget(uuid: string): void {
    if (this.#table.delete(uuid)) this.#tell(uuid);
  }

  #tell(uuid: string): void {
    for (const listener of this.#listeners) listener(uuid);
  }

  /** Loads every lease, then keeps the table in step with the bucket in the background. */
  async #follow(): Promise<void> {
    let count = 0;
    for await (const key of await this.#bucket.keys()) {
      await this.#fresh(key);
      if (++count >= LEASES_MAX) break;
    }
    // The watch starts with every key's last value again: what changed since the load is
    // taken, what did not is the same revision and left alone.
    const watch = await this.#bucket.watch();
    this.#watch = watch;
    this.#following = (async () => {
      try {
        for await (const entry of watch) {
          if (entry.operation === "PUT") {
            try {
              this.#apply(entry);
            } catch {
              // Not a lease this version can read: left out of the table.
            }
          } else if ((this.#table.get(entry.key)?.revision ?? 0) < entry.revision) {
            this.#forget(entry.key);
          }
        }
      } catch {
        // The watch ended with the connection.
      }
    })();
  }
}

/** A lease's record without its key and revision. */
function leaseRecord(lease: DomainLease): LeaseRecord {
  const { uuid: _uuid, revision: _revision, ...record } = lease;
  return record;
}

/** Code 87, as libvirt's lock managers answer a resource another host holds. */
export function ownedElsewhere(lease: DomainLease): VirtError {
  return new VirtError(
    ErrorCode.RESOURCE_BUSY,
    `domain '${lease.name}' is owned by host '${lease.owner}' (its lease in '${LEASES_BUCKET}')`,
  );
}
