import assert from "node:assert/strict";
import {
  applyPoolFact,
  isPoolActive,
  newPoolSnapshot,
  poolAccepts,
  poolStateOf,
} from "../../actors/pool_machine.ts";
import type { StorageFact } from "../../src/model/storage_facts.ts";
import { parsePoolXml } from "../../src/xml/parse_storage_pool.ts";

const definition = parsePoolXml(
  "<pool type='dir'><name>p</name><uuid>70a7eb15-6c34-ee9c-bf57-69e8e5ff3fb2</uuid><target><path>/p</path></target></pool>",
);
const defined: StorageFact = {
  type: "pool.defined",
  body: { definition, detail: "added", persistent: true },
};
const volume = {
  name: "v",
  type: "file",
  path: "/p/v",
  format: "raw",
  capacityBytes: 10,
  allocationBytes: 0,
};

function fold(facts: StorageFact[]) {
  return facts.reduce(applyPoolFact, newPoolSnapshot(definition.uuid));
}

Deno.test("poolMachine goes inactive → building → inactive → running with libvirt's numbers", () => {
  const building = fold([defined, {
    type: "pool.building",
    body: { path: "/p", overwrite: false },
  }]);
  assert.equal(poolStateOf(building), 1);
  assert.equal(building.context.intent?.kind, "build");
  const built = applyPoolFact(building, { type: "pool.built", body: {} });
  assert.equal(poolStateOf(built), 0);
  assert.equal(built.context.intent, null);
  const running = applyPoolFact(built, { type: "pool.started", body: {} });
  assert.equal(poolStateOf(running), 2);
  assert.ok(isPoolActive(running));
});

Deno.test("poolMachine keeps volumes while running and forgets them when stopped", () => {
  const running = fold([
    defined,
    { type: "pool.started", body: {} },
    { type: "pool.refreshed", body: { volumes: [volume] } },
    { type: "volume.resized", body: { name: "v", capacityBytes: 20, allocationBytes: 4 } },
  ]);
  assert.equal(running.context.volumes.v.capacityBytes, 20);
  const stopped = applyPoolFact(running, { type: "pool.stopped", body: {} });
  assert.deepEqual(stopped.context.volumes, {});
});

Deno.test("poolMachine marks a running pool inaccessible and a refresh brings it back", () => {
  const inaccessible = fold([
    defined,
    { type: "pool.started", body: {} },
    { type: "pool.inaccessible", body: { reason: "gone" } },
  ]);
  assert.equal(poolStateOf(inaccessible), 4);
  const back = applyPoolFact(inaccessible, { type: "pool.refreshed", body: { volumes: [] } });
  assert.equal(poolStateOf(back), 2);
});

Deno.test("poolMachine refuses facts that do not apply: undefine or volume create while inactive", () => {
  const inactive = fold([defined]);
  assert.equal(poolAccepts(inactive, { type: "volume.created", body: { volume } }), false);
  const running = applyPoolFact(inactive, { type: "pool.started", body: {} });
  assert.equal(poolAccepts(running, { type: "pool.undefined", body: {} }), false);
  assert.throws(() => applyPoolFact(running, { type: "pool.undefined", body: {} }));
});

Deno.test("poolMachine keeps a mount intent until the pool starts or the intent is abandoned", () => {
  const command = ["mount", "-o", "nodev,nosuid,noexec", "-t", "ext4", "/dev/loop0", "/p"];
  const starting = fold([defined, { type: "pool.starting", body: { command } }]);
  assert.equal(poolStateOf(starting), 0, "inactive until the mount is recorded");
  assert.equal(starting.context.intent?.kind, "start");
  const running = applyPoolFact(starting, { type: "pool.started", body: {} });
  assert.equal(poolStateOf(running), 2);
  assert.equal(running.context.intent, null);
  const abandoned = applyPoolFact(starting, {
    type: "storage.intent_abandoned",
    body: { intent: "start" },
  });
  assert.equal(poolStateOf(abandoned), 0);
  assert.equal(abandoned.context.intent, null);
});

Deno.test("poolMachine keeps an unmount intent while running; the stop clears it", () => {
  const stopping = fold([defined, { type: "pool.started", body: {} }, {
    type: "pool.stopping",
    body: { command: ["umount", "/p"] },
  }]);
  assert.equal(poolStateOf(stopping), 2);
  assert.equal(stopping.context.intent?.kind, "stop");
  const stopped = applyPoolFact(stopping, { type: "pool.stopped", body: {} });
  assert.equal(poolStateOf(stopped), 0);
  assert.equal(stopped.context.intent, null);
});

Deno.test("poolMachine marks a running pool degraded (3) and a whole refresh runs it again", () => {
  const degraded = fold([defined, { type: "pool.started", body: {} }, {
    type: "pool.degraded",
    body: { reason: "volume group 'vg' is missing a physical volume" },
  }]);
  assert.equal(poolStateOf(degraded), 3);
  assert.ok(isPoolActive(degraded));
  assert.equal(
    degraded.context.inaccessibleReason,
    "volume group 'vg' is missing a physical volume",
  );
  const whole = applyPoolFact(degraded, { type: "pool.refreshed", body: { volumes: [] } });
  assert.equal(poolStateOf(whole), 2);
  assert.equal(whole.context.inaccessibleReason, null);
  assert.ok(!poolAccepts(fold([defined]), { type: "pool.degraded", body: { reason: "x" } }));
});

Deno.test("poolMachine patches the known volumes with a refresh's changes", () => {
  const volume = (name: string, capacityBytes: number) => ({
    name,
    type: "file",
    path: `/p/${name}`,
    format: "raw",
    capacityBytes,
    allocationBytes: 0,
  });
  const running = fold([defined, { type: "pool.started", body: {} }, {
    type: "pool.refreshed",
    body: { volumes: [volume("a", 1), volume("b", 1)] },
  }]);
  const patched = applyPoolFact(running, {
    type: "pool.refreshed",
    body: { changed: [volume("b", 2), volume("c", 3)], removed: ["a"] },
  });
  assert.deepEqual(Object.keys(patched.context.volumes).sort(), ["b", "c"]);
  assert.equal(patched.context.volumes.b.capacityBytes, 2);
  assert.deepEqual(Object.keys(running.context.volumes).sort(), ["a", "b"], "the fold is pure");
});
