import assert from "node:assert/strict";
import { Host } from "../../actors/host.ts";
import type { DomainHandle } from "../../actors/driver_protocol.ts";
import { TestDriver } from "../../drivers/test/test_driver.ts";
import { createMemoryStore } from "../../src/log/memory_store.ts";
import { domainStream } from "../../src/model/facts.ts";
import type { SchedulerParameter } from "../../src/model/scheduler_params.ts";
import { isVirtError } from "../../src/model/errors.ts";
import { testDefinition } from "../support/domains.ts";

/** The test hypervisor with a scheduler that records what it is asked to write. */
class RecordingDriver extends TestDriver {
  readonly written: Array<[SchedulerParameter, number]> = [];
  setSchedulerParameter(_handle: DomainHandle, name: SchedulerParameter, value: number): void {
    this.written.push([name, value]);
  }
}

Deno.test("a schedinfo --live change the service died in is written again after restart", async () => {
  const store = createMemoryStore();
  const first = await Host.open({ store, drivers: [new TestDriver()], log: () => {} });
  await first.define(testDefinition("vm"));
  await first.start("vm");
  const { uuid } = first.lookup("vm");
  const live = first.context("vm").live!;
  await first.close();
  // The service died after recording the intent, before the group was written.
  const cputune = {
    vcpupins: [],
    iothreadpins: [],
    vcpuscheds: [],
    iothreadscheds: [],
    cachetunes: [],
    memorytunes: [],
    shares: 700,
    period: 0,
    quota: 30000,
    emulatorPeriod: 50000,
  };
  await store.append(domainStream(uuid), [{
    type: "domain.live_changing",
    body: JSON.parse(JSON.stringify({ definition: { ...live, cputune }, change: "schedinfo" })),
  }], "any");
  const driver = new RecordingDriver();
  const second = await Host.open({ store, drivers: [driver], log: () => {} });
  try {
    await second.idle();
    // Each set value written again (a zero period is left as it is), the outcome recorded.
    assert.deepEqual(driver.written, [
      ["cpu_shares", 700],
      ["vcpu_quota", 30000],
      ["emulator_period", 50000],
    ]);
    assert.equal(second.context("vm").live?.cputune?.shares, 700);
    assert.equal(second.context("vm").intent ?? null, null);
    const types = (await store.readAll({ afterPosition: 0 })).map((fact) => fact.type);
    assert.equal(types.at(-1), "domain.live_changed");
  } finally {
    await second.close();
  }
});

Deno.test("the test hypervisor's schedinfo --set checks libvirt's test driver's weight, keeps nothing", async () => {
  const store = createMemoryStore();
  const host = await Host.open({ store, drivers: [new TestDriver()], log: () => {} });
  try {
    await host.define(testDefinition("vm"));
    const { uuid } = host.lookup("vm");
    const before = store.headPosition();
    await host.command("schedinfo", uuid, {
      settings: [{ name: "weight", value: 10, type: "uint" }],
      flags: 0,
    });
    assert.equal(store.headPosition(), before, "no fact");
    await assert.rejects(
      host.command("schedinfo", uuid, { settings: [{ name: "cpu_shares", value: 10 }], flags: 0 }),
      (error) =>
        isVirtError(error) && error.code === 74 &&
        error.message === "parameter 'cpu_shares' not supported",
    );
    await assert.rejects(
      host.command("schedinfo", uuid, { settings: [{ name: "weight", value: 10 }], flags: 2 }),
      (error) =>
        isVirtError(error) && error.code === 8 &&
        error.message ===
          "unsupported flags (0x2) in function testDomainSetSchedulerParametersFlags",
    );
  } finally {
    await host.close();
  }
});
