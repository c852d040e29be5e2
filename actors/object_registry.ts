/**
 * The objects of one kind beside domains (storage pools, networks): their actors by uuid,
 * libvirt's lookups by name and uuid, and one queue for the calls that look at every object
 * (define, create, undefine). An actor whose object was undefined (its state `nonexistent`) is
 * forgotten; lookups never find one.
 *
 * @module
 */

import { type ErrorCodeValue, VirtError } from "../src/model/errors.ts";

/** What the registry needs to know of its kind of object. */
export interface RegistryKind<A> {
  /** libvirt's words before `with matching name '…'`: `storage pool`, `network`. */
  noun: string;
  /** libvirt's code for a missing object: 49 for pools, 43 for networks. */
  missing: ErrorCodeValue;
  /** A new actor for `uuid` (its object not defined yet). */
  make(uuid: string): A;
  /** Whether the actor's object exists (is not undefined, or not yet defined). */
  exists(actor: A): boolean;
  /** The object's name. */
  nameOf(actor: A): string;
}

/**
 * The actors of one kind of object.
 *
 * @example
 * ```ts ignore
 * const registry = new ObjectRegistry(kind);
 * const actor = registry.byName("default"); // or code 43 "no network with matching name 'default'"
 * ```
 */
export class ObjectRegistry<A extends { readonly uuid: string }> {
  readonly #kind: RegistryKind<A>;
  readonly #actors = new Map<string, A>();
  /** Serialises the calls that look at every object. */
  #job: Promise<unknown> = Promise.resolve();

  constructor(kind: RegistryKind<A>) {
    this.#kind = kind;
  }

  /** The actor of `uuid`, made when there is none yet (define, replay). */
  actorFor(uuid: string): A {
    let actor = this.#actors.get(uuid);
    if (actor === undefined) {
      actor = this.#kind.make(uuid);
      this.#actors.set(uuid, actor);
    }
    return actor;
  }

  /** The actor of `uuid` when its object exists. */
  existing(uuid: string): A | undefined {
    const actor = this.#actors.get(uuid.toLowerCase());
    return actor !== undefined && this.#kind.exists(actor) ? actor : undefined;
  }

  /** Forgets `actor` when its object no longer exists (after an undefine). */
  forgetIfGone(actor: A): void {
    if (!this.#kind.exists(actor)) this.#actors.delete(actor.uuid);
  }

  /** Forgets every actor whose object does not exist (after replay). */
  forgetGone(): void {
    for (const actor of [...this.#actors.values()]) this.forgetIfGone(actor);
  }

  /** Every existing object's actor. */
  actors(): A[] {
    return [...this.#actors.values()].filter((actor) => this.#kind.exists(actor));
  }

  /** Every existing object's `summaryOf`, sorted by name. */
  list<S extends { name: string }>(summaryOf: (actor: A) => S): S[] {
    return this.actors().map(summaryOf).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0
    );
  }

  /**
   * The object named `name`.
   *
   * @throws {VirtError} The kind's missing code, `no NOUN with matching name '…'`.
   */
  byName(name: string): A {
    const actor = this.actors().find((candidate) => this.#kind.nameOf(candidate) === name);
    if (actor === undefined) throw this.#missing("name", name);
    return actor;
  }

  /**
   * The object with `uuid`.
   *
   * @throws {VirtError} The kind's missing code, `no NOUN with matching uuid '…'`.
   */
  byUuid(uuid: string): A {
    const actor = this.existing(uuid);
    if (actor === undefined) throw this.#missing("uuid", uuid);
    return actor;
  }

  /** Runs `work` after every earlier call that looks at every object, alone. */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    const job = this.#job.then(work, work);
    this.#job = job.catch(() => {});
    return job;
  }

  #missing(by: "name" | "uuid", value: string): VirtError {
    return new VirtError(
      this.#kind.missing,
      `no ${this.#kind.noun} with matching ${by} '${value}'`,
    );
  }
}
