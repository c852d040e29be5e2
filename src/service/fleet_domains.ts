/**
 * This host's domains in its fleet: keeps the leases (`domain_leases.ts`) and the host's log in
 * step, and is the host's {@linkcode DomainOwnership}.
 *
 * - A domain of this host's log without a lease is claimed; one whose lease is this host's has
 *   its lease rewritten when its name, state or definition changes; one this host undefines has
 *   its lease released.
 * - A command on a domain another host owns is refused (code 87, naming the owner).
 * - A define of a name another host's domain has is refused (code 9), as libvirt refuses a name
 *   its host already has.
 * - A lease this host was given (`pending`: moved here, or taken over) is defined into this
 *   host's log from the definition it carries; an inactive local copy of a domain another host
 *   owns (the source of a move, or a host that comes back after its domains were taken over) is
 *   undefined here.
 * - At each pass (every third of the heartbeat TTL) a domain whose owner is lost (its heartbeat,
 *   hence its lease, expired) and which was shut off is taken over by the first live host that
 *   sees it (a compare-and-set: exactly one wins). An active domain of a lost host is left to
 *   it: its guest may still run there, and two hosts must never run one guest.
 *
 * @module
 */

import type { DomainOwnership, Host } from "../../actors/host.ts";
import type { FleetHost } from "../log/host_registry.ts";
import {
  type DomainLease,
  type DomainLeases,
  type LeaseRecord,
  ownedElsewhere,
} from "../log/domain_leases.ts";
import { ErrorCode, isVirtError, VirtError } from "../model/errors.ts";
import type { DomainDefinition } from "../model/domain.ts";

/** Options of {@linkcode FleetDomains.open}. */
export interface FleetDomainsOptions {
  host: Host;
  leases: DomainLeases;
  /** The fleet's hosts with their liveness. */
  hosts(): Promise<FleetHost[]>;
  /** How often a full pass runs, in ms. */
  passIntervalMs: number;
  log: (message: string) => void;
}

/** The fleet's side of this host's domains. */
export class FleetDomains implements DomainOwnership {
  readonly #host: Host;
  readonly #leases: DomainLeases;
  readonly #hosts: () => Promise<FleetHost[]>;
  readonly #log: (message: string) => void;
  /** Uuids whose define is in flight (their lease has no definition yet). */
  readonly #claiming = new Set<string>();
  /** Uuids this host receives by a live migration, the source's until it commits. */
  readonly #incoming = new Set<string>();
  /** Uuids whose local copy this host is undefining because another host owns them. */
  readonly #dropping = new Set<string>();
  /** Uuids to bring in step at the next turn. */
  readonly #dirty = new Set<string>();
  /** The lease text last written per uuid, so an unchanged domain writes nothing. */
  readonly #written = new Map<string, string>();
  /** Conflicts already logged (an active local copy of a domain another host owns). */
  readonly #warned = new Set<string>();
  readonly #unsubscribe: (() => void)[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  #turn: Promise<void> = Promise.resolve();
  #scheduled = false;
  #fullPass = true;
  #closed = false;

  private constructor(options: FleetDomainsOptions) {
    this.#host = options.host;
    this.#leases = options.leases;
    this.#hosts = options.hosts;
    this.#log = options.log;
  }

  /** Takes ownership of the host's domains (one full pass done before it returns). */
  static async open(options: FleetDomainsOptions): Promise<FleetDomains> {
    const fleet = new FleetDomains(options);
    options.host.setOwnership(fleet);
    fleet.#unsubscribe.push(
      options.host.onApplied((uuid) => fleet.#mark(uuid)),
      options.leases.onChange((uuid) => fleet.#mark(uuid)),
    );
    fleet.#schedule(true);
    await fleet.#turn;
    fleet.#timer = setInterval(() => fleet.#schedule(true), options.passIntervalMs);
    return fleet;
  }

  check(uuid: string, _command: string): void {
    const lease = this.#leases.get(uuid);
    if (
      lease !== undefined && lease.owner !== this.#leases.host && !this.#dropping.has(uuid) &&
      !this.#incoming.has(uuid)
    ) {
      throw ownedElsewhere(lease);
    }
  }

  /**
   * Names are unique in the fleet, as on one libvirt host: a name another host's lease holds
   * for another uuid is refused (code 9, as libvirt refuses a name its host already has). Two
   * hosts defining one new name at the same instant are not kept apart (leases are per uuid).
   */
  async claim(uuid: string, name: string): Promise<() => void> {
    if (this.#incoming.has(uuid)) return () => {}; // The source's until the migration commits.
    const holder = this.#leases.byName(name);
    if (holder !== undefined && holder.uuid !== uuid && holder.owner !== this.#leases.host) {
      throw new VirtError(
        ErrorCode.OPERATION_FAILED,
        `domain '${name}' already exists with uuid ${holder.uuid}`,
      );
    }
    this.#claiming.add(uuid);
    try {
      await this.#leases.claim(uuid, name);
    } catch (error) {
      this.#claiming.delete(uuid);
      throw error;
    }
    // Once the define is over, a turn writes its definition into the lease (or releases the
    // lease when the define was refused).
    return () => {
      this.#claiming.delete(uuid);
      this.#mark(uuid);
    };
  }

  /** Where a domain (name or uuid) is, when this host does not own it: its lease. */
  elsewhere(reference: string): DomainLease | undefined {
    const lease = this.#leases.get(reference.toLowerCase()) ?? this.#leases.byName(reference);
    if (lease === undefined || lease.owner === this.#leases.host) return undefined;
    return lease;
  }

  /**
   * Moves a shut-off domain this host owns to `target` (`migrate --offline`): the lease names
   * the target and carries the definition (the intent, durable first), then this host's copy is
   * undefined; the target defines it from the lease.
   *
   * @throws {VirtError} 42 for no such domain; 55 when it is active, transient, or the target is
   *   this host, unknown or lost; 87 when another host owns it or its lease changed meanwhile.
   */
  async moveOffline(reference: string, target: string): Promise<{ uuid: string; name: string }> {
    const summary = this.#host.lookup(reference);
    this.check(summary.uuid, "migrate");
    if (summary.active) {
      throw new VirtError(
        ErrorCode.OPERATION_INVALID,
        `domain '${summary.name}' is active: an offline migration moves a shut-off domain`,
      );
    }
    if (target === this.#leases.host) {
      throw new VirtError(
        ErrorCode.OPERATION_INVALID,
        `domain '${summary.name}' is already on host '${target}'`,
      );
    }
    const to = (await this.#hosts()).find((host) => host.name === target);
    if (to === undefined || to.state !== "alive") {
      throw new VirtError(
        ErrorCode.OPERATION_INVALID,
        `host '${target}' is ${to === undefined ? "not in the fleet" : "lost"}`,
        { where: "host" },
      );
    }
    const definition = this.#host.context(summary.uuid).definition;
    if (definition === null) {
      throw new VirtError(
        ErrorCode.OPERATION_INVALID,
        `domain '${summary.name}' has no persistent definition to move`,
      );
    }
    await this.#leases.claim(summary.uuid, summary.name);
    const moved = await this.#leases.update(summary.uuid, {
      owner: target,
      name: summary.name,
      active: false,
      sinceMs: Date.now(),
      definition,
      pending: true,
    });
    if (moved.definition === undefined) {
      throw new VirtError(
        ErrorCode.OPERATION_FAILED,
        `domain '${summary.name}': its definition is too large for a lease; it stays here`,
      );
    }
    await this.#dropLocal(summary.uuid, summary.name);
    return { uuid: summary.uuid, name: summary.name };
  }

  /**
   * A live migration brings `uuid` here: until {@linkcode endIncoming}, its local copy is left
   * alone (it is the source's lease) and the migration's own steps may act on it.
   */
  expectIncoming(uuid: string): void {
    this.#incoming.add(uuid);
  }

  /** The migration of `uuid` here ended (committed or not): its lease and copy are brought in step. */
  endIncoming(uuid: string): void {
    this.#incoming.delete(uuid);
    this.#mark(uuid);
  }

  /** Stops the passes and waits for the one running. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    await this.#turn;
  }

  #mark(uuid: string): void {
    this.#dirty.add(uuid);
    this.#schedule(false);
  }

  /** Queues one turn (at most one waiting): the dirty uuids, or everything when `full`. */
  #schedule(full: boolean): void {
    if (full) this.#fullPass = true;
    if (this.#scheduled || this.#closed) return;
    this.#scheduled = true;
    this.#turn = this.#turn.then(async () => {
      this.#scheduled = false;
      const full = this.#fullPass;
      this.#fullPass = false;
      const uuids = [...this.#dirty];
      this.#dirty.clear();
      try {
        if (full) await this.#pass();
        else for (const uuid of uuids) await this.#sync(uuid);
      } catch (error) {
        this.#log(`fleet: ${(error as Error).message}`);
      }
    });
  }

  /** Every local domain and every lease, then take-overs. */
  async #pass(): Promise<void> {
    const uuids = new Set(this.#host.list().map((summary) => summary.uuid));
    for (const lease of this.#leases.all()) uuids.add(lease.uuid);
    for (const uuid of uuids) await this.#sync(uuid);
    await this.#takeOver();
  }

  /** Brings one uuid's lease and local copy in step. */
  async #sync(uuid: string): Promise<void> {
    if (
      this.#closed || this.#claiming.has(uuid) || this.#dropping.has(uuid) ||
      this.#incoming.has(uuid)
    ) return;
    const local = this.#local(uuid);
    const lease = this.#leases.get(uuid) as DomainLease | undefined;
    const me = this.#leases.host;
    try {
      if (local === undefined) {
        if (lease?.owner !== me) return;
        if (lease.pending === true && lease.definition !== undefined) {
          await this.#receive(lease, lease.definition);
        } else {
          await this.#leases.release(uuid);
          this.#written.delete(uuid);
        }
        return;
      }
      if (lease === undefined) {
        await this.#leases.claim(uuid, local.name);
      } else if (lease.owner !== me) {
        if (!local.active) await this.#dropLocal(uuid, local.name);
        else if (!this.#warned.has(uuid)) {
          this.#warned.add(uuid);
          this.#log(
            `fleet: domain '${local.name}' is active here but owned by host '${lease.owner}': ` +
              "this host refuses every command on it",
          );
        }
        return;
      }
      const record: LeaseRecord = {
        owner: me,
        name: local.name,
        active: local.active,
        sinceMs: this.#leases.get(uuid)?.sinceMs ?? Date.now(),
        ...(local.definition === null ? {} : { definition: local.definition }),
      };
      const text = JSON.stringify(record);
      const current = this.#leases.get(uuid) as DomainLease | undefined;
      if (this.#written.get(uuid) === text && current?.pending !== true) return;
      await this.#leases.update(uuid, { ...record, pending: false });
      this.#written.set(uuid, text);
    } catch (error) {
      if (isVirtError(error) && error.code === ErrorCode.RESOURCE_BUSY) return; // Moved meanwhile.
      throw error;
    }
  }

  /** Defines a domain this host received (moved here or taken over) from its lease. */
  async #receive(lease: DomainLease, definition: DomainDefinition): Promise<void> {
    await this.#host.define(definition);
    this.#log(`fleet: domain '${lease.name}' is now on this host (defined from its lease)`);
    this.#mark(lease.uuid);
  }

  /** Undefines this host's copy of a domain another host owns. */
  async #dropLocal(uuid: string, name: string): Promise<void> {
    this.#dropping.add(uuid);
    try {
      await this.#host.undefine(uuid);
      this.#written.delete(uuid);
      this.#log(`fleet: domain '${name}' is owned by another host: its copy here is undefined`);
    } catch (error) {
      if (isVirtError(error) && error.code === ErrorCode.NO_DOMAIN) return; // Already gone.
      this.#log(
        `fleet: cannot undefine this host's copy of '${name}': ${(error as Error).message}`,
      );
    } finally {
      this.#dropping.delete(uuid);
    }
  }

  /** Takes over the shut-off domains of lost hosts. */
  async #takeOver(): Promise<void> {
    const me = this.#leases.host;
    let lost: Set<string> | undefined;
    for (const lease of this.#leases.all()) {
      if (lease.owner === me || lease.active || lease.definition === undefined) continue;
      lost ??= new Set(
        (await this.#hosts()).filter((host) => host.state === "lost").map((host) => host.name),
      );
      if (!lost.has(lease.owner)) continue;
      try {
        await this.#leases.takeOver(lease);
      } catch {
        continue; // Another host took it, or its owner came back.
      }
      this.#log(`fleet: domain '${lease.name}' taken over from lost host '${lease.owner}'`);
      await this.#sync(lease.uuid);
    }
  }

  #local(uuid: string):
    | { name: string; active: boolean; definition: DomainDefinition | null }
    | undefined {
    try {
      const summary = this.#host.lookup(uuid);
      const context = this.#host.context(uuid);
      return {
        name: summary.name,
        active: summary.active,
        definition: context.definition ?? context.live,
      };
    } catch (error) {
      if (isVirtError(error) && error.code === ErrorCode.NO_DOMAIN) return undefined;
      throw error;
    }
  }
}
