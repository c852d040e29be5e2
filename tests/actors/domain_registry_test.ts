import assert from "node:assert/strict";
import { summarize } from "../../actors/domain_registry.ts";
import { isVirtError } from "../../src/model/errors.ts";
import { DomainState } from "../../src/model/lifecycle.ts";
import { testDefinition } from "../support/domains.ts";
import { registryRig } from "./_registry_rig.ts";

Deno.test("DomainRegistry.actorOf() finds a domain by name, uuid (any form) and running id", async () => {
  const rig = registryRig();
  const definition = testDefinition("web");
  const actor = await rig.define(definition);
  await rig.start(actor.uuid);
  const id = actor.snapshot.context.id!;
  assert.equal(rig.registry.actorOf("web"), actor);
  assert.equal(rig.registry.actorOf(definition.uuid!.toUpperCase().replaceAll("-", "")), actor);
  assert.equal(rig.registry.actorOf(String(id)), actor);
});

Deno.test("DomainRegistry.actorOf() refuses an unknown reference with code 42 naming it", () => {
  const rig = registryRig();
  assert.throws(
    () => rig.registry.actorOf("7"),
    (error) => isVirtError(error, 42) && /no domain with matching id 7/.test(error.message),
  );
  assert.throws(
    () => rig.registry.actorOf("nothing"),
    (error) => isVirtError(error, 42) && /name 'nothing'/.test(error.message),
  );
});

Deno.test("DomainRegistry.index() frees the id when the instance stops and the name at undefine", async () => {
  const rig = registryRig();
  const actor = await rig.define(testDefinition("web"));
  await rig.start(actor.uuid);
  const id = String(actor.snapshot.context.id);
  await actor.run(
    "destroy",
    {},
    (job) =>
      job.append([{ type: "domain.stopped", body: { detail: "destroyed", reason: "destroyed" } }]),
  );
  assert.throws(() => rig.registry.actorOf(id), (error) => isVirtError(error, 42));
  assert.equal(rig.registry.uuidOfName("web"), actor.uuid);
  await actor.run("undefine", {}, (job) => job.append([{ type: "domain.undefined", body: {} }]));
  assert.equal(rig.registry.uuidOfName("web"), undefined);
  assert.equal(rig.registry.get(actor.uuid), actor);
});

Deno.test("DomainRegistry.allocateId() counts on from the highest id ever launched", async () => {
  const rig = registryRig();
  const actor = await rig.define(testDefinition("web"));
  assert.equal(rig.registry.nextId, 1);
  await rig.start(actor.uuid);
  assert.equal(actor.snapshot.context.id, 1);
  assert.equal(rig.registry.allocateId(), 2);
  rig.registry.raiseNextId(10);
  rig.registry.raiseNextId(5);
  assert.equal(rig.registry.allocateId(), 10);
});

Deno.test("DomainRegistry.reserve() applies libvirt's name and uuid rules (code 9)", async () => {
  const rig = registryRig();
  const web = testDefinition("web");
  await rig.define(web);
  const other = testDefinition("other");
  assert.throws(() => rig.registry.reserve("web", other.uuid!), (error) => isVirtError(error, 9));
  assert.throws(() => rig.registry.reserve("renamed", web.uuid!), (error) => isVirtError(error, 9));
  const release = rig.registry.reserve("other", other.uuid!);
  assert.throws(
    () => rig.registry.reserve("other", testDefinition("x").uuid!),
    (error) => isVirtError(error, 9),
  );
  assert.throws(
    () => rig.registry.reserve("third", other.uuid!),
    (error) => isVirtError(error, 9) && /already being defined/.test(error.message),
  );
  release();
  rig.registry.reserve("third", other.uuid!)();
});

Deno.test("DomainRegistry.list() filters and orders as virsh, skipping undefined domains", async () => {
  const rig = registryRig();
  const b = await rig.define(testDefinition("b"));
  await rig.define(testDefinition("a"));
  await rig.start(b.uuid);
  const gone = await rig.define(testDefinition("gone"));
  await gone.run("undefine", {}, (job) => job.append([{ type: "domain.undefined", body: {} }]));
  assert.deepEqual(rig.registry.list().map((each) => each.name), ["b", "a"]);
  assert.deepEqual(rig.registry.list({ inactive: true }).map((each) => each.name), ["a"]);
  assert.equal(summarize(b.snapshot).state, DomainState.RUNNING);
});
