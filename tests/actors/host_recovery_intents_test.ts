/**
 * Intents on the test hypervisor: a start and an end record what they are about to do before
 * the driver acts, abandon it when the driver fails, and recovery settles whatever a crash left
 * pending (adopt or abandon a launch; finish an end with its own reason).
 */

import assert from "node:assert/strict";
import { Host } from "../../actors/host.ts";
import type { LaunchRequest } from "../../actors/driver_protocol.ts";
import { TestDriver } from "../../drivers/test/test_driver.ts";
import type { EventStore } from "../../src/log/event_store.ts";
import { createMemoryStore } from "../../src/log/memory_store.ts";
import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import { type DomainFact, domainStream, libvirtEventOf } from "../../src/model/facts.ts";
import { reasonName, stateName } from "../../src/model/lifecycle.ts";
import { testDefinition } from "../support/domains.ts";

function stateText(host: Host, name: string): string {
  const summary = host.lookup(name);
  return `${stateName(summary.state)} (${reasonName(summary.state, summary.reason)})`;
}

async function factTypes(store: EventStore): Promise<string[]> {
  return (await store.readAll({ afterPosition: 0 })).map((fact) => fact.type);
}

/** Writes `facts` as the whole stream of the domain of `uuid` (a log a crash left behind). */
async function seed(store: EventStore, uuid: string, facts: DomainFact[]): Promise<void> {
  await store.append(
    domainStream(uuid),
    facts.map((fact) => ({ type: fact.type, body: fact.body as never })),
    0,
  );
}

Deno.test("Host.start records the launch intent before the driver launches", async () => {
  const store = createMemoryStore();
  const driver = new TestDriver();
  const launch = driver.launch.bind(driver);
  let seenAtLaunch: string[] = [];
  driver.launch = async (request: LaunchRequest, signal: AbortSignal) => {
    seenAtLaunch = await factTypes(store);
    return await launch(request, signal);
  };
  const host = await Host.open({ store, drivers: [driver], log: () => {} });
  try {
    await host.define(testDefinition("vm"));
    await host.start("vm");
    assert.deepEqual(seenAtLaunch, ["domain.defined", "domain.launching"]);
    assert.deepEqual((await factTypes(store)).slice(1), [
      "domain.launching",
      "domain.launched",
      "domain.started",
    ]);
    assert.equal(host.context("vm").intent, null);
  } finally {
    await host.close();
  }
});

Deno.test("Host.start abandons the launch intent when the driver fails, and the domain stays shut off", async () => {
  const store = createMemoryStore();
  const driver = new TestDriver();
  driver.launch = () => Promise.reject(new VirtError(ErrorCode.INTERNAL_ERROR, "qemu said no"));
  const host = await Host.open({ store, drivers: [driver], log: () => {} });
  try {
    await host.define(testDefinition("vm"));
    await assert.rejects(() => host.start("vm"), /qemu said no/);
    assert.equal(stateText(host, "vm"), "shut off (unknown)");
    assert.equal(host.context("vm").intent, null);
    assert.deepEqual((await factTypes(store)).slice(1), [
      "domain.launching",
      "domain.intent_abandoned",
    ]);
  } finally {
    await host.close();
  }
});

Deno.test("Host.destroy records the end intent before the driver ends the instance", async () => {
  const store = createMemoryStore();
  const driver = new TestDriver();
  const terminate = driver.terminate.bind(driver);
  let lastAtTerminate: string | undefined;
  driver.terminate = async (handle, options, signal) => {
    lastAtTerminate = (await factTypes(store)).at(-1);
    await terminate(handle, options, signal);
  };
  const host = await Host.open({ store, drivers: [driver], log: () => {} });
  try {
    await host.define(testDefinition("vm"));
    await host.start("vm");
    await host.destroy("vm");
    assert.equal(lastAtTerminate, "domain.ending");
    assert.equal(stateText(host, "vm"), "shut off (destroyed)");
  } finally {
    await host.close();
  }
});

Deno.test("Host.destroy that the driver refuses abandons the end intent and keeps the domain running", async () => {
  const store = createMemoryStore();
  const driver = new TestDriver();
  driver.terminate = () =>
    Promise.reject(new VirtError(ErrorCode.SYSTEM_ERROR, "failed to terminate process 1"));
  const host = await Host.open({ store, drivers: [driver], log: () => {} });
  try {
    await host.define(testDefinition("vm"));
    await host.start("vm");
    await assert.rejects(() => host.destroy("vm", { graceful: true }), /failed to terminate/);
    assert.equal(stateText(host, "vm"), "running (booted)");
    assert.equal(host.context("vm").intent, null);
    assert.deepEqual((await factTypes(store)).slice(-2), [
      "domain.ending",
      "domain.intent_abandoned",
    ]);
  } finally {
    await host.close();
  }
});

Deno.test("Host recovery abandons a launch intent whose instance never ran", async () => {
  const store = createMemoryStore();
  const definition = testDefinition("vm");
  await seed(store, definition.uuid!, [
    { type: "domain.defined", body: { definition, detail: "added" } },
    {
      type: "domain.launching",
      body: { id: 7, definition: null, persistent: true, runtime: { driver: "test" } },
    },
  ]);
  const host = await Host.open({ store, drivers: [new TestDriver()], log: () => {} });
  try {
    assert.equal(stateText(host, "vm"), "shut off (unknown)");
    assert.equal(host.context("vm").intent, null);
    assert.equal((await factTypes(store)).at(-1), "domain.intent_abandoned");
    // The intent's id stays taken: the next start gets a higher one.
    await host.start("vm");
    assert.equal(host.lookup("vm").id, 8);
  } finally {
    await host.close();
  }
});

Deno.test("Host recovery adopts the instance of an interrupted launch and ends the unacknowledged start", async () => {
  const store = createMemoryStore();
  const definition = testDefinition("vm");
  await seed(store, definition.uuid!, [
    { type: "domain.defined", body: { definition, detail: "added" } },
    {
      type: "domain.launching",
      body: { id: 3, definition: null, persistent: true, runtime: { driver: "test" } },
    },
  ]);
  const driver = new TestDriver();
  const adopted: LaunchRequest[] = [];
  driver.adopt = (request) => {
    adopted.push(request);
    return Promise.resolve({ driver: "test", adopted: true });
  };
  const host = await Host.open({ store, drivers: [driver], log: () => {} });
  try {
    assert.deepEqual(adopted.map((request) => [request.name, request.id]), [["vm", 3]]);
    assert.equal(stateText(host, "vm"), "shut off (failed)");
    assert.deepEqual((await factTypes(store)).slice(2), [
      "domain.launched",
      "domain.ending",
      "domain.stopped",
    ]);
  } finally {
    await host.close();
  }
});

Deno.test("Host recovery finishes an interrupted destroy and records it destroyed, not crashed", async () => {
  const store = createMemoryStore();
  const definition = testDefinition("vm");
  await seed(store, definition.uuid!, [
    { type: "domain.defined", body: { definition, detail: "added" } },
    {
      type: "domain.launching",
      body: { id: 1, definition: null, persistent: true, runtime: { driver: "test" } },
    },
    {
      type: "domain.launched",
      body: { id: 1, definition: null, persistent: true, runtime: { driver: "test" } },
    },
    { type: "domain.started", body: { detail: "booted", reason: "booted" } },
    { type: "domain.ending", body: { detail: "destroyed", reason: "destroyed", graceful: false } },
  ]);
  const host = await Host.open({ store, drivers: [new TestDriver()], log: () => {} });
  try {
    assert.equal(stateText(host, "vm"), "shut off (destroyed)");
    assert.equal(host.context("vm").intent, null);
  } finally {
    await host.close();
  }
});

Deno.test("Intent facts are no libvirt events", () => {
  const intents: DomainFact[] = [
    {
      type: "domain.launching",
      body: { id: 1, definition: null, persistent: true, runtime: {} },
    },
    { type: "domain.ending", body: { detail: "destroyed", reason: "destroyed", graceful: false } },
    { type: "domain.intent_abandoned", body: { intent: "launch" } },
  ];
  for (const fact of intents) assert.equal(libvirtEventOf(fact), undefined, fact.type);
});

/** The facts of a domain recorded running, then `extra`. */
function runningLog(definition: ReturnType<typeof testDefinition>, extra: DomainFact[]) {
  const runtime = { driver: "test" };
  return [
    { type: "domain.defined", body: { definition, detail: "added" } },
    { type: "domain.launching", body: { id: 1, definition: null, persistent: true, runtime } },
    { type: "domain.launched", body: { id: 1, definition: null, persistent: true, runtime } },
    { type: "domain.started", body: { detail: "booted", reason: "booted" } },
    ...extra,
  ] as DomainFact[];
}

Deno.test("Host.reboot and Host.reset record their intent first; the REBOOT settles it", async () => {
  const store = createMemoryStore();
  const host = await Host.open({ store, drivers: [new TestDriver()], log: () => {} });
  try {
    await host.define(testDefinition("vm"));
    await host.start("vm");
    const before = (await factTypes(store)).length;
    await host.reboot("vm");
    // The test guest resets on a 0 ms timer; then its observation is recorded.
    await new Promise((resolve) => setTimeout(resolve, 10));
    await host.idle();
    await host.reset("vm");
    assert.deepEqual((await factTypes(store)).slice(before), [
      "domain.rebooting",
      "domain.rebooted",
      "domain.resetting",
      "domain.rebooted",
    ]);
    assert.equal(host.context("vm").intent, null);
  } finally {
    await host.close();
  }
});

Deno.test("Host recovery finishes an interrupted reboot whose guest shut down, instead of on_poweroff", async () => {
  const store = createMemoryStore();
  const definition = testDefinition("vm");
  await seed(
    store,
    definition.uuid!,
    runningLog(definition, [
      { type: "domain.rebooting", body: {} },
    ]),
  );
  const driver = new TestDriver();
  const calls: string[] = [];
  const probe = driver.probe.bind(driver);
  driver.probe = async (handle) => {
    await probe(handle);
    return { kind: "shutdown" };
  };
  const reset = driver.reset.bind(driver);
  driver.reset = (handle) => (calls.push("reset"), reset(handle));
  const resume = driver.resume.bind(driver);
  driver.resume = (handle, signal) => (calls.push("resume"), resume(handle, signal));
  const host = await Host.open({ store, drivers: [driver], log: () => {} });
  try {
    assert.deepEqual(calls, ["reset", "resume"]);
    assert.equal(stateText(host, "vm"), "running (booted)");
    assert.equal((await factTypes(store)).at(-1), "domain.rebooted");
    assert.equal(host.context("vm").intent, null);
  } finally {
    await host.close();
  }
});

Deno.test("Host recovery repeats an interrupted reset and records its REBOOT", async () => {
  const store = createMemoryStore();
  const definition = testDefinition("vm");
  await seed(
    store,
    definition.uuid!,
    runningLog(definition, [
      { type: "domain.resetting", body: {} },
    ]),
  );
  const driver = new TestDriver();
  let resets = 0;
  const reset = driver.reset.bind(driver);
  driver.reset = (handle) => (resets++, reset(handle));
  const host = await Host.open({ store, drivers: [driver], log: () => {} });
  try {
    assert.equal(resets, 1);
    assert.equal(stateText(host, "vm"), "running (booted)");
    assert.equal((await factTypes(store)).at(-1), "domain.rebooted");
  } finally {
    await host.close();
  }
});

Deno.test("A guest shutdown settles a pending reboot intent (the reboot did not happen)", async () => {
  const store = createMemoryStore();
  const definition = testDefinition("vm", { onPoweroff: "preserve" });
  await seed(
    store,
    definition.uuid!,
    runningLog(definition, [
      { type: "domain.rebooting", body: {} },
      { type: "domain.shutdown", body: { detail: "guest" } },
    ]),
  );
  const host = await Host.open({ store, drivers: [new TestDriver()], log: () => {} });
  try {
    assert.equal(host.context("vm").intent, null);
  } finally {
    await host.close();
  }
});

Deno.test("Host.start ends the instance it launched when the launch cannot be recorded", async () => {
  const store = createMemoryStore();
  const driver = new TestDriver();
  const terminated: string[] = [];
  const terminate = driver.terminate.bind(driver);
  driver.terminate = async (handle, options, signal) => {
    terminated.push(handle.name);
    await terminate(handle, options, signal);
  };
  const append = store.append.bind(store);
  store.append = (stream, facts, expected) =>
    facts.some((fact) => fact.type === "domain.launched")
      ? Promise.reject(new VirtError(ErrorCode.SYSTEM_ERROR, "No space left on device"))
      : append(stream, facts, expected);
  const host = await Host.open({ store, drivers: [driver], log: () => {} });
  try {
    await host.define(testDefinition("vm"));
    await assert.rejects(() => host.start("vm"), /No space left/);
    assert.deepEqual(terminated, ["vm"]);
    assert.equal(stateText(host, "vm"), "shut off (unknown)");
    assert.equal(host.context("vm").intent, null);
    // Nothing of it is left: a retry launches a new instance.
    store.append = append;
    await host.start("vm");
    assert.equal(stateText(host, "vm"), "running (booted)");
  } finally {
    await host.close();
  }
});
