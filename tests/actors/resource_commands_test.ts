import assert from "node:assert/strict";
import { Host } from "../../actors/host.ts";
import { vcpuCountOf } from "../../actors/resource_commands.ts";
import type { DomainHandle } from "../../actors/driver_protocol.ts";
import { TestDriver } from "../../drivers/test/test_driver.ts";
import { createMemoryStore } from "../../src/log/memory_store.ts";
import { AFFECT_CONFIG, AFFECT_LIVE, MAXIMUM } from "../../src/model/domain_resources.ts";
import type { DomainDefinition } from "../../src/model/domain.ts";
import { isVirtError } from "../../src/model/errors.ts";
import { domainStream } from "../../src/model/facts.ts";
import { testDefinition } from "../support/domains.ts";

async function open(store = createMemoryStore(), driver = new TestDriver()) {
  const host = await Host.open({ store, drivers: [driver], log: () => {} });
  return { host, store };
}

async function factTypes(store: ReturnType<typeof createMemoryStore>, after: number) {
  return (await store.readAll({ afterPosition: after })).map((fact) => fact.type);
}

const setmem = (memoryKiB: number, flags: number) => ({
  memoryKiB,
  flags,
  api: "virDomainSetMemoryFlags",
});
const setvcpus = (count: number, flags: number) => ({
  count,
  flags,
  api: "virDomainSetVcpusFlags",
});

Deno.test("setmem --config records one config_changed fact with the new definition", async () => {
  const { host, store } = await open();
  try {
    await host.define(testDefinition("vm"));
    const before = store.headPosition();
    await host.command("setmem", "vm", setmem(300_000, AFFECT_CONFIG));
    assert.deepEqual(await factTypes(store, before), ["domain.config_changed"]);
    assert.equal(host.context("vm").definition?.currentMemoryKiB, 300_000);
  } finally {
    await host.close();
  }
});

Deno.test("setmem --live records the intent before the driver acts, then the live definition", async () => {
  const { host, store } = await open();
  try {
    await host.define(testDefinition("vm"));
    await host.start("vm");
    const before = store.headPosition();
    await host.command("setmem", "vm", setmem(300_000, AFFECT_LIVE));
    assert.deepEqual(await factTypes(store, before), [
      "domain.live_changing",
      "domain.live_changed",
    ]);
    const inspection = host.inspect("vm");
    assert.equal(inspection.driver?.info(inspection.handle!).memoryKiB, 300_000);
    assert.equal(host.context("vm").live?.currentMemoryKiB, 300_000);
    assert.equal(host.context("vm").definition?.currentMemoryKiB, 524288, "config unchanged");
    assert.equal(host.context("vm").intent ?? null, null, "no intent left pending");
  } finally {
    await host.close();
  }
});

Deno.test("a refused change appends nothing", async () => {
  const { host, store } = await open();
  try {
    await host.define(testDefinition("vm"));
    const before = store.headPosition();
    await assert.rejects(
      host.command("setmem", "vm", setmem(2_000_000, AFFECT_CONFIG)),
      (error: unknown) =>
        isVirtError(error, 8) &&
        (error as Error).message === "cannot set memory higher than max memory",
    );
    await assert.rejects(
      host.command("setmem", "vm", setmem(1000, AFFECT_LIVE)),
      (error: unknown) => isVirtError(error, 55),
    );
    await assert.rejects(
      host.command("setvcpus", "vm", setvcpus(3, AFFECT_CONFIG)),
      (error: unknown) =>
        isVirtError(error, 8) &&
        (error as Error).message === "requested cpu amount exceeds maximum (3 > 2)",
    );
    await assert.rejects(
      host.command("blockresize", "vm", { disk: "vda", size: 1n, flags: 0 }),
      (error: unknown) => isVirtError(error, 3),
    );
    assert.equal(store.headPosition(), before);
  } finally {
    await host.close();
  }
});

Deno.test("a driver failure abandons the live intent and leaves the live definition", async () => {
  class FailingDriver extends TestDriver {
    override setMemory(_handle: DomainHandle, _kib: number): Promise<void> {
      return Promise.reject(new Error("balloon refused"));
    }
  }
  const { host, store } = await open(createMemoryStore(), new FailingDriver());
  try {
    await host.define(testDefinition("vm"));
    await host.start("vm");
    const live = host.context("vm").live;
    const before = store.headPosition();
    await assert.rejects(host.command("setmem", "vm", setmem(1000, AFFECT_LIVE)), /refused/);
    assert.deepEqual(await factTypes(store, before), [
      "domain.live_changing",
      "domain.intent_abandoned",
    ]);
    assert.deepEqual(host.context("vm").live, live);
    assert.equal(host.context("vm").intent ?? null, null);
  } finally {
    await host.close();
  }
});

Deno.test("setvcpus --maximum --config on a running domain changes only the config", async () => {
  const { host } = await open();
  try {
    await host.define(testDefinition("vm", { vcpus: 4, vcpu: { current: 2 } }));
    await host.start("vm");
    await host.command("setvcpus", "vm", setvcpus(1, MAXIMUM | AFFECT_CONFIG));
    const config = host.context("vm").definition as DomainDefinition;
    assert.equal(config.vcpus, 1);
    assert.equal(config.vcpu?.current, undefined, "current lowered to the maximum");
    assert.equal(vcpuCountOf(host.inspect("vm"), AFFECT_LIVE | MAXIMUM), 4);
    assert.equal(vcpuCountOf(host.inspect("vm"), AFFECT_LIVE), 2);
    assert.equal(vcpuCountOf(host.inspect("vm"), AFFECT_CONFIG), 1);
  } finally {
    await host.close();
  }
});

Deno.test("a restarted host shows the live memory and vCPUs the log recorded", async () => {
  const first = await open();
  await first.host.define(testDefinition("vm", { vcpus: 4 }));
  await first.host.start("vm");
  await first.host.command("setmem", "vm", setmem(200_000, AFFECT_LIVE));
  await first.host.command("setvcpus", "vm", setvcpus(3, AFFECT_LIVE));
  await first.host.command("setmem", "vm", setmem(400_000, AFFECT_CONFIG));
  await first.host.close();
  const second = await open(first.store);
  try {
    const inspection = second.host.inspect("vm");
    assert.equal(inspection.driver?.info(inspection.handle!).memoryKiB, 200_000);
    assert.equal(vcpuCountOf(inspection, AFFECT_LIVE), 3);
    assert.equal(vcpuCountOf(inspection, AFFECT_CONFIG), 4);
    assert.equal(second.host.context("vm").definition?.currentMemoryKiB, 400_000);
  } finally {
    await second.host.close();
  }
});

Deno.test("a live change the service died in is asked again after restart, and recorded", async () => {
  const first = await open();
  await first.host.define(testDefinition("vm"));
  await first.host.start("vm");
  const { uuid } = first.host.lookup("vm");
  const live = first.host.context("vm").live!;
  await first.host.close();
  // The service died after recording the intent, before the driver acted.
  await first.store.append(domainStream(uuid), [{
    type: "domain.live_changing",
    body: JSON.parse(JSON.stringify({
      definition: { ...live, currentMemoryKiB: 100_000 },
      change: "memory",
    })),
  }], "any");
  const second = await open(first.store);
  try {
    await second.host.idle();
    const inspection = second.host.inspect("vm");
    assert.equal(inspection.driver?.info(inspection.handle!).memoryKiB, 100_000);
    assert.equal(second.host.context("vm").live?.currentMemoryKiB, 100_000);
    assert.equal(second.host.context("vm").intent ?? null, null);
    const types = (await first.store.readAll({ afterPosition: 0 })).map((fact) => fact.type);
    assert.equal(types.at(-1), "domain.live_changed");
  } finally {
    await second.host.close();
  }
});
