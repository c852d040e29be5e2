/**
 * Every storage pool of the service: their actors, lookups by name and uuid, define, create and
 * undefine, and recovery — replay of the pool streams with the same fold as live, then
 * reconciliation with the host: an intent left pending by a crash is finished or undone, and
 * each running pool is refreshed so files made or removed behind evirt's back appear or
 * disappear as facts. The commands on one pool are in `pool_commands.ts`.
 *
 * @module
 */

import type { EventStore } from "../src/log/event_store.ts";
import { ErrorCode, VirtError } from "../src/model/errors.ts";
import {
  isStorageFactType,
  type StorageFact,
  uuidOfPoolStream,
} from "../src/model/storage_facts.ts";
import { type PoolDefinition, PoolState, type PoolStateValue } from "../src/model/storage_pool.ts";
import { FactListeners, replayStreams } from "./stream_actor.ts";
import { ObjectRegistry } from "./object_registry.ts";
import { POOL_TYPES_WITH_BACKEND } from "../src/storage/pool_backend.ts";
import { parsePoolXml } from "../src/xml/parse_storage_pool.ts";
import { type AppliedStorageFact, definitionOf, PoolActor } from "./pool_actor.ts";

export { definitionOf };
import { isPoolActive, poolStateName, poolStateOf } from "./pool_machine.ts";
import { PoolCommands } from "./pool_commands.ts";

/** Most listeners {@linkcode StoragePools.subscribe} keeps (one per event-watching connection). */
export const POOL_LISTENERS_MAX = 4096;

/** Most pools the service keeps. */
export const POOLS_MAX = 4096;

/** Largest pool XML accepted, in bytes. */
export const POOL_XML_MAX_BYTES = 1024 * 1024;

/** One pool as a list shows it. */
export interface PoolSummary {
  uuid: string;
  name: string;
  /** libvirt's state number. */
  state: PoolStateValue;
  active: boolean;
  persistent: boolean;
  autostart: boolean;
  type: string;
}

/** Options of {@linkcode StoragePools.open}. */
export interface StoragePoolsOptions {
  /** The log. */
  store: EventStore;
  /** Told of each fact once durable (event streams). */
  onApplied?: (facts: AppliedStorageFact[]) => void;
  /** Where recovery reports what it corrected. */
  log?: (message: string) => void;
  /** Start autostart pools (the first service start since boot). */
  autostart?: boolean;
}

/** libvirt's numbers of the pool types, for its "missing backend" message. */
const TYPE_NUMBERS: Readonly<Record<string, number>> = {
  dir: 0,
  fs: 1,
  netfs: 2,
  logical: 3,
  disk: 4,
  iscsi: 5,
  "iscsi-direct": 6,
  scsi: 7,
  mpath: 8,
  rbd: 9,
  sheepdog: 10,
  gluster: 11,
  zfs: 12,
  vstorage: 13,
};

/**
 * The service's storage pools.
 *
 * @example
 * ```ts ignore
 * const pools = await StoragePools.open({ store });
 * const summary = await pools.define("<pool type='dir'>…</pool>");
 * await pools.commands.start(summary.uuid, 0);
 * ```
 */
export class StoragePools {
  readonly #store: EventStore;
  readonly #onApplied: (facts: AppliedStorageFact[]) => void;
  readonly #registry: ObjectRegistry<PoolActor> = new ObjectRegistry({
    noun: "storage pool",
    missing: ErrorCode.NO_STORAGE_POOL,
    make: (uuid) => new PoolActor(uuid, this.#store, (facts) => this.#publish(facts)),
    exists: (actor) => poolStateName(actor.snapshot) !== "nonexistent",
    nameOf: (actor) => definitionOf(actor).name,
  });
  readonly #listeners = new FactListeners<AppliedStorageFact>(
    POOL_LISTENERS_MAX,
    "storage event listeners",
  );
  /** The commands on one pool and its volumes. */
  readonly commands: PoolCommands;

  private constructor(options: StoragePoolsOptions) {
    this.#store = options.store;
    this.#onApplied = options.onApplied ?? (() => {});
    this.commands = new PoolCommands(this);
  }

  /**
   * Replays the log's pool streams, reconciles them with the host, and starts autostart pools
   * when asked.
   */
  static async open(options: StoragePoolsOptions): Promise<StoragePools> {
    const pools = new StoragePools(options);
    await pools.#replay();
    await pools.commands.reconcileAll(options.log ?? (() => {}));
    if (options.autostart === true) await pools.commands.autostartAll(options.log ?? (() => {}));
    return pools;
  }

  async #replay(): Promise<void> {
    await replayStreams<StorageFact>(
      this.#store,
      uuidOfPoolStream,
      isStorageFactType,
      (uuid) => this.#registry.actorFor(uuid),
    );
    this.#registry.forgetGone();
  }

  #publish(facts: AppliedStorageFact[]): void {
    this.#onApplied(facts);
    this.#listeners.publish(facts);
  }

  /**
   * Tells `listener` of every fact made durable from now on (live only: events are not
   * resumed, as libvirt's are not). Returns the function that stops it.
   *
   * @throws {VirtError} Code 87 beyond {@linkcode POOL_LISTENERS_MAX} listeners.
   */
  subscribe(listener: (facts: AppliedStorageFact[]) => void): () => void {
    return this.#listeners.add(listener);
  }

  /** Every existing pool's actor. */
  actors(): PoolActor[] {
    return this.#registry.actors();
  }

  /** Every pool, sorted by name. */
  list(): PoolSummary[] {
    return this.#registry.list(summaryOf);
  }

  /**
   * The pool named `name`.
   *
   * @throws {VirtError} Code 49 `no storage pool with matching name '…'`.
   */
  byName(name: string): PoolActor {
    return this.#registry.byName(name);
  }

  /**
   * The pool with `uuid`.
   *
   * @throws {VirtError} Code 49 `no storage pool with matching uuid '…'`.
   */
  byUuid(uuid: string): PoolActor {
    return this.#registry.byUuid(uuid);
  }

  /** The summary of one pool. */
  summary(actor: PoolActor): PoolSummary {
    return summaryOf(actor);
  }

  /**
   * Defines (or redefines) a persistent pool from XML.
   *
   * @throws {VirtError} The parser's errors; code 9 for a name or uuid taken by another pool or
   *   a target another pool uses; code 1 for a type evirt has no backend for.
   */
  define(xml: string): Promise<PoolSummary> {
    return this.#registry.exclusive(async () => {
      const definition = this.#checkedDefinition(xml);
      const added = this.#registry.existing(definition.uuid) === undefined;
      const actor = this.#registry.actorFor(definition.uuid);
      await actor.run("define", () =>
        actor.append([{
          type: "pool.defined",
          body: { definition, detail: added ? "added" : "updated", persistent: true },
        }]));
      return summaryOf(actor);
    });
  }

  /**
   * Creates and starts a transient pool from XML (`pool-create`); with `build`, builds it first.
   *
   * @throws {VirtError} As {@linkcode define}, code 9 when a pool of that name or uuid exists.
   */
  create(xml: string, build: boolean): Promise<PoolSummary> {
    return this.#registry.exclusive(async () => {
      const definition = this.#checkedDefinition(xml);
      if (this.#registry.existing(definition.uuid) !== undefined) {
        throw new VirtError(
          ErrorCode.OPERATION_FAILED,
          `pool '${definition.name}' already exists with uuid ${definition.uuid}`,
        );
      }
      const actor = this.#registry.actorFor(definition.uuid);
      await actor.run("create", () =>
        actor.append([{
          type: "pool.defined",
          body: { definition, detail: "added", persistent: false },
        }]));
      try {
        await this.commands.start(definition.uuid, build ? 1 : 0);
      } catch (error) {
        await actor.run("create", () => actor.append([{ type: "pool.undefined", body: {} }]));
        throw error;
      }
      return summaryOf(actor);
    });
  }

  /**
   * Removes an inactive pool's definition.
   *
   * @throws {VirtError} Code 55 while it is active.
   */
  undefine(uuid: string): Promise<void> {
    return this.#registry.exclusive(async () => {
      const actor = this.byUuid(uuid);
      await actor.run("undefine", async () => {
        if (isPoolActive(actor.snapshot)) {
          throw new VirtError(
            ErrorCode.OPERATION_INVALID,
            `storage pool '${definitionOf(actor).name}' is still active`,
          );
        }
        await actor.append([{ type: "pool.undefined", body: {} }]);
      });
      this.#registry.forgetIfGone(actor);
    });
  }

  #checkedDefinition(xml: string): PoolDefinition {
    const definition = parsePoolXml(xml, { maxBytes: POOL_XML_MAX_BYTES });
    if (!POOL_TYPES_WITH_BACKEND.has(definition.type)) {
      throw new VirtError(
        ErrorCode.INTERNAL_ERROR,
        `missing backend for pool type ${TYPE_NUMBERS[definition.type]} (${definition.type})`,
      );
    }
    for (const actor of this.actors()) {
      const other = definitionOf(actor);
      if (other.uuid === definition.uuid && other.name !== definition.name) {
        throw new VirtError(
          ErrorCode.OPERATION_FAILED,
          `pool '${other.name}' already exists with uuid ${other.uuid}`,
        );
      }
      if (other.name === definition.name && other.uuid !== definition.uuid) {
        throw new VirtError(
          ErrorCode.OPERATION_FAILED,
          `pool '${other.name}' is already defined with uuid ${other.uuid}`,
        );
      }
      if (
        other.uuid !== definition.uuid && other.type === definition.type &&
        other.targetPath !== undefined && other.targetPath === definition.targetPath
      ) {
        throw new VirtError(
          ErrorCode.OPERATION_FAILED,
          `Storage source conflict with pool: '${other.name}'`,
        );
      }
    }
    if (
      this.actors().length >= POOLS_MAX && this.#registry.existing(definition.uuid) === undefined
    ) {
      throw new VirtError(ErrorCode.OPERATION_FAILED, `too many storage pools (${POOLS_MAX})`);
    }
    return definition;
  }

  /**
   * Cancels the volume jobs (each records how it ended) and waits for them and the queues'
   * jobs (at service close), at most `timeoutMs`.
   */
  async close(timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    this.commands.jobs.cancelAll();
    while (this.commands.jobs.size > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const leftMs = Math.max(0, deadline - Date.now());
    await Promise.all(this.actors().map((actor) => actor.idle(leftMs)));
    this.commands.scanner.close();
  }
}

function summaryOf(actor: PoolActor): PoolSummary {
  const definition = definitionOf(actor);
  const context = actor.snapshot.context;
  return {
    uuid: actor.uuid,
    name: definition.name,
    state: poolStateOf(actor.snapshot),
    active: isPoolActive(actor.snapshot),
    persistent: context.persistent,
    autostart: context.autostart,
    type: definition.type,
  };
}

export { PoolState };
