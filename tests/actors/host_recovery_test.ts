import assert from "node:assert/strict";
import { recoverFromLog } from "../../actors/host_recovery.ts";
import { snapshotStateOf } from "../../actors/host_snapshots.ts";
import { statePath } from "../../actors/domain_machine.ts";
import { testDefinition } from "../support/domains.ts";
import { registryRig } from "./_registry_rig.ts";

Deno.test("recoverFromLog folds every fact into the same states and indexes as live", async () => {
  const live = registryRig();
  const web = await live.define(testDefinition("web"));
  const db = await live.define(testDefinition("db"));
  await live.start(web.uuid);
  await live.start(db.uuid, { paused: true });
  const recovered = registryRig({ store: live.store });
  const { position, snapshotPosition } = await recoverFromLog(live.store, recovered.registry);
  assert.equal(position, live.store.headPosition());
  assert.equal(snapshotPosition, 0);
  assert.equal(statePath(recovered.registry.actorOf("web").snapshot), "active.running");
  assert.equal(statePath(recovered.registry.actorOf("db").snapshot), "active.paused");
  assert.equal(recovered.registry.actorOf("2").uuid, db.uuid);
  assert.equal(recovered.registry.actorOf("db").version, db.version);
  assert.equal(recovered.registry.nextId, live.registry.nextId);
});

Deno.test("recoverFromLog starts from the latest snapshot and folds only the facts after it", async () => {
  const live = registryRig();
  const web = await live.define(testDefinition("web"));
  const position = live.store.headPosition();
  await live.store.saveSnapshot({ position, state: snapshotStateOf(live.registry) as never });
  await live.start(web.uuid);
  const recovered = registryRig({ store: live.store });
  const result = await recoverFromLog(live.store, recovered.registry);
  assert.equal(result.snapshotPosition, position);
  assert.equal(result.position, live.store.headPosition());
  assert.equal(statePath(recovered.registry.actorOf("web").snapshot), "active.running");
});

Deno.test("recoverFromLog of an empty log recovers nothing", async () => {
  const rig = registryRig();
  assert.deepEqual(await recoverFromLog(rig.store, rig.registry), {
    position: 0,
    snapshotPosition: 0,
  });
  assert.deepEqual(rig.registry.actors(), []);
});
