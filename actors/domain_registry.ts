/**
 * The host's registry of domains: one actor per uuid, and the indexes that find them by name and
 * by the id of their running instance. It applies libvirt's naming rules (a name belongs to one
 * uuid, a uuid to one name) and hands out instance ids, counting on across restarts.
 *
 * The indexes follow the facts: {@linkcode DomainRegistry.index} is called with every fact once
 * its actor applied it, live or at replay.
 *
 * @module
 */

import type { HeldFactsSummary } from "../src/model/domain_list.ts";
import { initialTransition } from "xstate";
import { ErrorCode, VirtError } from "../src/model/errors.ts";
import type { DomainFact } from "../src/model/facts.ts";
import {
  compareForList,
  type DomainSummary,
  type ListFilter,
  matchesListFilter,
  normalizeUuid,
} from "../src/model/domain_list.ts";
import type { DomainActor } from "./domain_actor.ts";
import { domainMachine, type DomainSnapshot, exists, isActive, stateOf } from "./domain_machine.ts";

/** Makes the actor of a uuid from its snapshot and stream version. */
export type ActorFactory = (uuid: string, snapshot: DomainSnapshot, version: number) => DomainActor;

/**
 * The registry.
 *
 * @example
 * ```ts ignore
 * const registry = new DomainRegistry((uuid, snapshot, version) => new DomainActor({ … }));
 * const actor = registry.actorOf("web"); // by name, uuid or id
 * ```
 */
export class DomainRegistry {
  readonly #create: ActorFactory;
  readonly #actors = new Map<string, DomainActor>();
  readonly #byName = new Map<string, string>();
  readonly #byId = new Map<number, string>();
  readonly #idOfUuid = new Map<string, number>();
  /** Names claimed by a define or create whose fact is not yet durable. */
  readonly #reservedNames = new Map<string, string>();
  #nextId = 1;

  /** @param create Makes an actor; the registry keeps it. */
  constructor(create: ActorFactory) {
    this.#create = create;
  }

  /** Every actor, including those of undefined domains (kept for their history). */
  actors(): DomainActor[] {
    return [...this.#actors.values()];
  }

  /** The actor of a uuid, whether or not its domain exists now. */
  get(uuid: string): DomainActor | undefined {
    return this.#actors.get(uuid);
  }

  /** The id the next started instance gets. */
  get nextId(): number {
    return this.#nextId;
  }

  /** Hands out an id for a starting instance. */
  allocateId(): number {
    return this.#nextId++;
  }

  /** The uuid of the existing domain named `name`, or undefined. */
  uuidOfName(name: string): string | undefined {
    return this.#byName.get(name);
  }

  /** Existing domains matching `filter`, in virsh's order (active by id, inactive by name). */
  list(filter: ListFilter = {}): DomainSummary[] {
    const summaries: DomainSummary[] = [];
    for (const actor of this.#actors.values()) {
      if (!exists(actor.snapshot)) continue;
      const summary = summarize(actor.snapshot, actor.held);
      if (matchesListFilter(summary, filter)) summaries.push(summary);
    }
    return summaries.sort(compareForList);
  }

  /**
   * The actor of an existing domain by name, uuid or id (as virsh: an all-digit reference is an
   * id first).
   *
   * @throws {VirtError} Code 42 when there is none.
   */
  actorOf(reference: string): DomainActor {
    let uuid: string | undefined;
    let what: string;
    if (/^[0-9]+$/.test(reference)) {
      uuid = this.#byId.get(Number(reference));
      what = `id ${reference}`;
    } else {
      what = `name '${reference}'`;
    }
    uuid ??= this.#byName.get(reference);
    if (uuid === undefined) {
      const normalized = normalizeUuid(reference);
      if (normalized !== undefined) {
        uuid = normalized;
        what = `uuid '${reference}'`;
      }
    }
    const actor = uuid === undefined ? undefined : this.#actors.get(uuid);
    if (actor === undefined || !exists(actor.snapshot)) {
      throw new VirtError(ErrorCode.NO_DOMAIN, `no domain with matching ${what}`);
    }
    return actor;
  }

  /** The actor of a uuid, made in the machine's initial state when there is none yet. */
  actorFor(uuid: string): DomainActor {
    const actor = this.#actors.get(uuid);
    if (actor !== undefined) return actor;
    const [snapshot] = initialTransition(domainMachine, { uuid });
    return this.add(uuid, snapshot, 0);
  }

  /** Makes and keeps the actor of a uuid from a snapshot (recovery). */
  add(uuid: string, snapshot: DomainSnapshot, version: number): DomainActor {
    const actor = this.#create(uuid, snapshot, version);
    this.#actors.set(uuid, actor);
    return actor;
  }

  /** Indexes an actor restored from a snapshot (its name, and its instance's id). */
  indexRestored(actor: DomainActor): void {
    const { context } = actor.snapshot;
    if (exists(actor.snapshot)) this.#byName.set(context.name, actor.uuid);
    if (context.id !== null) {
      this.#byId.set(context.id, actor.uuid);
      this.#idOfUuid.set(actor.uuid, context.id);
    }
  }

  /** Makes sure no id below `nextId` is handed out again (ids count on across restarts). */
  raiseNextId(nextId: number): void {
    if (nextId > this.#nextId) this.#nextId = nextId;
  }

  /** Keeps the name and id indexes in step with one fact (already applied to the actor). */
  index(actor: DomainActor, fact: DomainFact): void {
    const { context } = actor.snapshot;
    switch (fact.type) {
      case "domain.defined":
        this.#byName.set(context.name, actor.uuid);
        break;
      case "domain.renamed":
        if (this.#byName.get(fact.body.from) === actor.uuid) this.#byName.delete(fact.body.from);
        this.#byName.set(context.name, actor.uuid);
        break;
      case "domain.launching":
        // The intent's id stays taken: its instance may exist until recovery settles it.
        if (fact.body.id >= this.#nextId) this.#nextId = fact.body.id + 1;
        break;
      case "domain.launched":
        this.#byName.set(context.name, actor.uuid);
        this.#byId.set(fact.body.id, actor.uuid);
        this.#idOfUuid.set(actor.uuid, fact.body.id);
        if (fact.body.id >= this.#nextId) this.#nextId = fact.body.id + 1;
        break;
      case "domain.stopped":
      case "domain.undefined": {
        const id = this.#idOfUuid.get(actor.uuid);
        if (id !== undefined && context.id !== id) {
          this.#byId.delete(id);
          this.#idOfUuid.delete(actor.uuid);
        }
        if (!exists(actor.snapshot) && this.#byName.get(context.name) === actor.uuid) {
          this.#byName.delete(context.name);
        }
        break;
      }
      default:
        break;
    }
  }

  /**
   * Claims a new name for the existing domain `uuid` (a rename) until the returned release is
   * called.
   *
   * @throws {VirtError} Code 55 when another domain has or is being defined with the name.
   */
  claimNewName(name: string, uuid: string): () => void {
    const owner = this.#byName.get(name) ?? this.#reservedNames.get(name);
    if (owner !== undefined && owner !== uuid) {
      throw new VirtError(
        ErrorCode.OPERATION_INVALID,
        `domain with name '${name}' already exists`,
      );
    }
    if (this.#reservedNames.has(name)) return () => {};
    this.#reservedNames.set(name, uuid);
    return () => this.#reservedNames.delete(name);
  }

  /**
   * Claims `name` for `uuid` until the returned release is called, applying libvirt's rules.
   *
   * @throws {VirtError} Code 9 when the name belongs to another uuid or the uuid to another name.
   */
  reserve(name: string, uuid: string): () => void {
    const owner = this.#byName.get(name) ?? this.#reservedNames.get(name);
    if (owner !== undefined && owner !== uuid) {
      throw new VirtError(
        ErrorCode.OPERATION_FAILED,
        `domain '${name}' already exists with uuid ${owner}`,
      );
    }
    const existing = this.#actors.get(uuid);
    if (existing !== undefined && exists(existing.snapshot)) {
      const current = existing.snapshot.context.name;
      if (current !== name) {
        throw new VirtError(
          ErrorCode.OPERATION_FAILED,
          `domain '${current}' is already defined with uuid ${uuid}`,
        );
      }
    }
    for (const [reservedName, reservedUuid] of this.#reservedNames) {
      if (reservedUuid === uuid && reservedName !== name) {
        throw new VirtError(
          ErrorCode.OPERATION_FAILED,
          `domain '${reservedName}' is already being defined with uuid ${uuid}`,
        );
      }
    }
    if (this.#reservedNames.has(name)) return () => {};
    this.#reservedNames.set(name, uuid);
    return () => this.#reservedNames.delete(name);
  }
}

/** A domain's summary from its snapshot. */
export function summarize(
  snapshot: DomainSnapshot,
  pendingFacts: HeldFactsSummary | null = null,
): DomainSummary {
  const { context } = snapshot;
  const { state, reason } = stateOf(snapshot);
  return {
    uuid: context.uuid,
    name: context.name,
    id: context.id,
    state,
    reason,
    persistent: context.persistent,
    autostart: context.autostart,
    active: isActive(snapshot),
    managedSave: context.managedSave !== null && context.managedSave !== undefined,
    pendingFacts,
  };
}
