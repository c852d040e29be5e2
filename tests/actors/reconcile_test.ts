import assert from "node:assert/strict";
import { reconcileAll } from "../../actors/reconcile.ts";
import { statePath } from "../../actors/domain_machine.ts";
import type { DomainHandle, Reality } from "../../actors/driver_protocol.ts";
import { TestDriver } from "../../drivers/test/test_driver.ts";
import { loggedEvents, testDefinition } from "../support/domains.ts";
import { registryRig } from "./_registry_rig.ts";

/** The test hypervisor, except that its probe answers what the test says reality is. */
class ProbedDriver extends TestDriver {
  reality: Reality = { kind: "as_recorded" };
  probes: string[] = [];
  watched: string[] = [];

  override probe(handle: DomainHandle): Promise<Reality> {
    this.probes.push(handle.name);
    return Promise.resolve(this.reality);
  }

  override watch(handle: DomainHandle, sink: Parameters<TestDriver["watch"]>[1]): void {
    this.watched.push(handle.name);
    super.watch(handle, sink);
  }
}

async function recordedRunning(driver: ProbedDriver, paused = false) {
  const rig = registryRig({ driver });
  const actor = await rig.define(testDefinition("web"));
  await rig.start(actor.uuid, { paused });
  return { rig, actor, head: rig.store.headPosition() };
}

function reconcileEnv(rig: ReturnType<typeof registryRig>, messages: string[] = []) {
  return {
    driverOfType: () => rig.driver,
    commands: rig.env,
    log: (m: string) => messages.push(m),
  };
}

Deno.test("reconcileAll keeps a domain whose driver finds it as recorded, and watches it", async () => {
  const driver = new ProbedDriver();
  const { rig, actor, head } = await recordedRunning(driver);
  driver.watched = [];
  await reconcileAll(rig.registry.actors(), reconcileEnv(rig));
  assert.equal(statePath(actor.snapshot), "active.running");
  assert.equal(rig.store.headPosition(), head);
  assert.deepEqual(driver.watched, ["web"]);
});

Deno.test("reconcileAll records a domain whose process is gone as crashed, never restarting it", async () => {
  const driver = new ProbedDriver();
  const { rig, actor, head } = await recordedRunning(driver);
  driver.reality = { kind: "gone" };
  const messages: string[] = [];
  await reconcileAll(rig.registry.actors(), reconcileEnv(rig, messages));
  assert.equal(statePath(actor.snapshot), "shutoff");
  assert.deepEqual(await loggedEvents(rig.store, head), ["Stopped Failed"]);
  assert.match(messages.join("\n"), /its process is gone/);
});

Deno.test("reconcileAll records a pause that happened while the service was away", async () => {
  const driver = new ProbedDriver();
  const { rig, actor, head } = await recordedRunning(driver);
  driver.reality = { kind: "paused", reason: "ioerror" };
  await reconcileAll(rig.registry.actors(), reconcileEnv(rig));
  assert.equal(statePath(actor.snapshot), "active.paused");
  assert.deepEqual(await loggedEvents(rig.store, head), ["Suspended I/O Error"]);
});

Deno.test("reconcileAll records a resume of a domain recorded paused", async () => {
  const driver = new ProbedDriver();
  const { rig, actor, head } = await recordedRunning(driver, true);
  driver.reality = { kind: "running" };
  await reconcileAll(rig.registry.actors(), reconcileEnv(rig));
  assert.equal(statePath(actor.snapshot), "active.running");
  assert.deepEqual(await loggedEvents(rig.store, head), ["Resumed Unpaused"]);
});

Deno.test("reconcileAll probes only active domains and skips types without a driver", async () => {
  const driver = new ProbedDriver();
  const { rig } = await recordedRunning(driver);
  await rig.define(testDefinition("off"));
  const messages: string[] = [];
  await reconcileAll(rig.registry.actors(), {
    driverOfType: () => undefined,
    commands: rig.env,
    log: (message) => messages.push(message),
  });
  assert.deepEqual(driver.probes, []);
  assert.match(messages.join("\n"), /no 'test' driver here; left as recorded/);
  await reconcileAll(rig.registry.actors(), reconcileEnv(rig));
  assert.deepEqual(driver.probes, ["web"]);
});

Deno.test("reconcileAll logs a failing probe and leaves the record as it is", async () => {
  const driver = new ProbedDriver();
  const { rig, actor, head } = await recordedRunning(driver);
  driver.probe = () => Promise.reject(new Error("monitor silent"));
  const messages: string[] = [];
  await reconcileAll(rig.registry.actors(), reconcileEnv(rig, messages));
  assert.equal(statePath(actor.snapshot), "active.running");
  assert.equal(rig.store.headPosition(), head);
  assert.match(messages.join("\n"), /reconcile failed: monitor silent/);
});
