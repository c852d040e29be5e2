import assert from "node:assert/strict";
import {
  restoreSnapshot,
  SNAPSHOT_FORMAT,
  SnapshotKeeper,
  snapshotStateOf,
} from "../../actors/host_snapshots.ts";
import { statePath } from "../../actors/domain_machine.ts";
import { isCompactDefinition } from "../../src/model/compact_definition.ts";
import { testDefinition } from "../support/domains.ts";
import { registryRig } from "./_registry_rig.ts";

function keeperOf(rig: ReturnType<typeof registryRig>, everyFacts: number) {
  const jobs: Promise<unknown>[] = [];
  const messages: string[] = [];
  const keeper = new SnapshotKeeper({
    store: rig.store,
    registry: rig.registry,
    everyFacts,
    track: (job) => jobs.push(job),
    log: (message) => messages.push(message),
  });
  return { keeper, jobs, messages };
}

Deno.test("SnapshotKeeper.save() refuses while applied facts leave a gap in the log", async () => {
  const rig = registryRig();
  const { keeper } = keeperOf(rig, 0);
  keeper.recovered(0, 0);
  await rig.define(testDefinition("a"));
  await rig.define(testDefinition("b"));
  const [first, second] = rig.applied;
  keeper.applied(second);
  assert.equal(await keeper.save(), false);
  assert.equal(await rig.store.loadSnapshot(), undefined);
  keeper.applied(first);
  assert.equal(await keeper.save(), true);
  assert.equal((await rig.store.loadSnapshot())?.position, 2);
  assert.equal(keeper.factsSinceSnapshot, 0);
});

Deno.test("SnapshotKeeper.applied() schedules one snapshot once everyFacts are applied", async () => {
  const rig = registryRig();
  const { keeper, jobs } = keeperOf(rig, 2);
  keeper.recovered(0, 0);
  const actor = await rig.define(testDefinition("web"));
  for (const batch of rig.applied) keeper.applied(batch);
  assert.equal(jobs.length, 0);
  await rig.start(actor.uuid);
  for (const batch of rig.applied.slice(1)) keeper.applied(batch);
  assert.equal(jobs.length, 1);
  await Promise.all(jobs);
  const saved = await rig.store.loadSnapshot();
  assert.equal(saved?.position, rig.store.headPosition());
});

Deno.test("SnapshotKeeper with everyFacts 0 never snapshots on its own", async () => {
  const rig = registryRig();
  const { keeper, jobs } = keeperOf(rig, 0);
  keeper.recovered(0, 0);
  await rig.define(testDefinition("web"));
  for (const batch of rig.applied) keeper.applied(batch);
  assert.equal(jobs.length, 0);
  assert.equal(keeper.factsSinceSnapshot, 1);
});

Deno.test("restoreSnapshot rebuilds actors, indexes and the id counter of snapshotStateOf", async () => {
  const source = registryRig();
  const actor = await source.define(testDefinition("web"));
  await source.start(actor.uuid);
  const state = snapshotStateOf(source.registry);
  assert.equal(state.format, SNAPSHOT_FORMAT);
  const target = registryRig();
  restoreSnapshot(target.registry, structuredClone(state));
  const restored = target.registry.actorOf("web");
  assert.equal(statePath(restored.snapshot), "active.running");
  assert.equal(restored.version, actor.version);
  assert.equal(target.registry.actorOf(String(actor.snapshot.context.id)), restored);
  assert.equal(target.registry.nextId, source.registry.nextId);
});

Deno.test("restoreSnapshot refuses an unknown format", () => {
  const rig = registryRig();
  assert.throws(
    () => restoreSnapshot(rig.registry, { format: 99, nextId: 1, domains: [] }),
    /Unknown snapshot format 99/,
  );
});

Deno.test("a snapshot keeps a large definition deflated and restores it equal and compact", async () => {
  const source = registryRig();
  const large = { ...testDefinition("big"), description: "d".repeat(1024 * 1024) };
  const actor = await source.define(large);
  await source.start(actor.uuid);
  const kept = actor.snapshot.context.definition!;
  assert.ok(isCompactDefinition(kept));
  assert.deepEqual(kept, large);
  const text = JSON.stringify(snapshotStateOf(source.registry));
  // The description stays deflated: the snapshot holds no plain copy of it.
  assert.ok(text.length < 64 * 1024, `snapshot of ${text.length} characters`);
  const target = registryRig();
  restoreSnapshot(target.registry, JSON.parse(text));
  const restored = target.registry.actorOf("big").snapshot.context;
  assert.ok(isCompactDefinition(restored.definition!));
  assert.ok(isCompactDefinition(restored.live!));
  assert.deepEqual(restored.definition, large);
  assert.equal(JSON.stringify(restored.live), JSON.stringify(actor.snapshot.context.live));
});

Deno.test("restoreSnapshot still reads format 1 (plain definitions)", () => {
  const target = registryRig();
  const definition = { ...testDefinition("old"), uuid: "6f1c3cb5-8a73-4a4a-9b16-0d4d4f0f2a11" };
  restoreSnapshot(target.registry, {
    format: 1,
    nextId: 1,
    domains: [{
      uuid: definition.uuid,
      version: 1,
      state: "shutoff",
      context: {
        uuid: definition.uuid,
        name: "old",
        definition,
        live: null,
        persistent: true,
        autostart: false,
        id: null,
        reason: 0,
        runtime: null,
        deadline: null,
      },
    }],
  });
  assert.deepEqual(target.registry.actorOf("old").snapshot.context.definition, definition);
});
