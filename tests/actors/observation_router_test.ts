import assert from "node:assert/strict";
import { ObservationRouter } from "../../actors/observation_router.ts";
import { statePath } from "../../actors/domain_machine.ts";
import { loggedEvents, testDefinition } from "../support/domains.ts";
import { registryRig } from "./_registry_rig.ts";

function routerOf(rig: ReturnType<typeof registryRig>, now = Date.now) {
  const messages: string[] = [];
  const router = new ObservationRouter({
    resync: () => Promise.resolve(),
    actorOf: (uuid) => rig.registry.get(uuid),
    commands: () => rig.env,
    now,
    log: (message) => messages.push(message),
  });
  return { router, messages };
}

Deno.test("ObservationRouter.observe() records the observation as the domain's fact", async () => {
  const rig = registryRig();
  const actor = await rig.define(testDefinition("web"));
  await rig.start(actor.uuid);
  const head = rig.store.headPosition();
  const { router } = routerOf(rig);
  router.observe(actor.uuid, { kind: "paused", reason: "watchdog" });
  await router.settled();
  assert.equal(statePath(actor.snapshot), "active.paused");
  assert.deepEqual(await loggedEvents(rig.store, head), ["Suspended Watchdog"]);
});

Deno.test("ObservationRouter.observe() drops observations of unknown domains and after close", async () => {
  const rig = registryRig();
  const actor = await rig.define(testDefinition("web"));
  await rig.start(actor.uuid);
  const head = rig.store.headPosition();
  const { router } = routerOf(rig);
  router.observe("00000000-0000-4000-8000-ffffffffffff", { kind: "resumed" });
  router.close();
  router.observe(actor.uuid, { kind: "paused", reason: "user" });
  await router.settled();
  assert.equal(rig.store.headPosition(), head);
});

Deno.test("ObservationRouter.observe() logs a job that fails instead of throwing", async () => {
  const rig = registryRig();
  const actor = await rig.define(testDefinition("web"));
  await rig.start(actor.uuid);
  rig.env.driverFor = () => {
    throw new Error("driver gone");
  };
  const { router, messages } = routerOf(rig);
  router.observe(actor.uuid, { kind: "stopped", reason: "shutdown" });
  await router.settled();
  assert.match(messages.join("\n"), /^domain web: stopped: driver gone$/);
});

Deno.test("ObservationRouter.armDeadline() destroys a domain still active at its deadline", async () => {
  const rig = registryRig();
  const actor = await rig.define(testDefinition("web"));
  await rig.start(actor.uuid);
  const atMs = Date.now() + 20;
  await actor.run(
    "shutdown",
    {},
    (job) =>
      job.append([{
        type: "domain.deadline_set",
        body: { job: "shutdown", action: "destroy", atMs },
      }]),
  );
  const { router } = routerOf(rig);
  router.armDeadline(actor.uuid, atMs);
  await new Promise((resolve) => setTimeout(resolve, 60));
  await router.settled();
  assert.equal(statePath(actor.snapshot), "shutoff");
  router.close();
});

Deno.test("ObservationRouter.close() clears armed deadlines: nothing fires afterwards", async () => {
  const rig = registryRig();
  const actor = await rig.define(testDefinition("web"));
  await rig.start(actor.uuid);
  const atMs = Date.now() + 10;
  await actor.run(
    "shutdown",
    {},
    (job) =>
      job.append([{
        type: "domain.deadline_set",
        body: { job: "shutdown", action: "destroy", atMs },
      }]),
  );
  const { router } = routerOf(rig);
  router.armDeadline(actor.uuid, atMs);
  router.close();
  await new Promise((resolve) => setTimeout(resolve, 40));
  await router.settled();
  assert.equal(statePath(actor.snapshot), "active.running");
});
