/**
 * A registry of real domain actors over an in-memory log, and a command environment on the
 * test hypervisor: what the host's parts are tested on, without a `Host`.
 *
 * @module
 */

import { type AppliedFact, DomainActor } from "../../actors/domain_actor.ts";
import type { CommandEnvironment } from "../../actors/domain_commands.ts";
import * as commands from "../../actors/domain_commands.ts";
import { DomainRegistry } from "../../actors/domain_registry.ts";
import type { Driver, Observation } from "../../actors/driver_protocol.ts";
import type { EventStore } from "../../src/log/event_store.ts";
import { createMemoryStore } from "../../src/log/memory_store.ts";
import type { DomainDefinition } from "../../src/model/domain.ts";
import { TestDriver } from "../../drivers/test/test_driver.ts";

/** The rig. */
export interface RegistryRig {
  store: EventStore;
  registry: DomainRegistry;
  driver: Driver;
  env: CommandEnvironment;
  /** Every batch applied, in order. */
  applied: AppliedFact[][];
  /** Observations the driver reported. */
  observed: [string, Observation][];
  /** Defines a domain through its actor, indexing it as the host does. */
  define(definition: DomainDefinition): Promise<DomainActor>;
  /** Starts a defined domain through its actor. */
  start(uuid: string, options?: { paused?: boolean }): Promise<void>;
}

/** Builds a rig; `store` and `driver` may be given to share them across rigs (recovery). */
export function registryRig(
  options: { store?: EventStore; driver?: Driver } = {},
): RegistryRig {
  const store = options.store ?? createMemoryStore();
  const driver = options.driver ?? new TestDriver();
  const applied: AppliedFact[][] = [];
  const observed: [string, Observation][] = [];
  const registry: DomainRegistry = new DomainRegistry((uuid, snapshot, version) =>
    new DomainActor({
      uuid,
      store,
      snapshot,
      version,
      onApplied: (actor, facts) => {
        for (const { fact } of facts) registry.index(actor, fact);
        applied.push(facts);
      },
    })
  );
  const env: CommandEnvironment = {
    driverFor: () => driver,
    allocateId: () => registry.allocateId(),
    sink: (uuid, observation) => observed.push([uuid, observation]),
    now: Date.now,
    armDeadline: () => {},
    claimNewName: (name, uuid) => registry.claimNewName(name, uuid),
  };
  return {
    store,
    registry,
    driver,
    env,
    applied,
    observed,
    async define(definition) {
      const actor = registry.actorFor(definition.uuid!);
      await actor.run("define", {}, (job) => commands.define(job, definition));
      return actor;
    },
    async start(uuid, startOptions = {}) {
      await registry.get(uuid)!.run(
        "start",
        {},
        (job) => commands.start(job, env, { paused: startOptions.paused ?? false }),
      );
    },
  };
}
