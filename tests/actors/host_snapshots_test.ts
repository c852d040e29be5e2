import assert from "node:assert/strict";
import {
  restoreSnapshot,
  SNAPSHOT_FORMAT,
  SnapshotKeeper,
  snapshotStateOf,
} from "../../actors/host_snapshots.ts";
import { statePath } from "../../actors/domain_machine.ts";
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
