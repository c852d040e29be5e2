import assert from "node:assert/strict";
import { Host } from "../../../actors/host.ts";
import { completeTestDefinition } from "../../../drivers/test/test_completion.ts";
import { TestDriver } from "../../../drivers/test/test_driver.ts";
import { createMemoryStore } from "../../../src/log/memory_store.ts";
import { type DomainDefinition, emptyDevices } from "../../../src/model/domain.ts";

function guest(): DomainDefinition {
  const devices = emptyDevices();
  devices.interfaces.push({ type: "network", source: { network: "default" } });
  devices.interfaces.push({
    type: "network",
    source: { network: "default" },
    target: { dev: "testnet0" },
  });
  devices.consoles.push({ type: "pty", sources: [] });
  devices.graphics.push({ type: "vnc", listens: [] });
  return {
    type: "test",
    name: "vm",
    uuid: "6695eb01-f6a4-8304-79aa-97f2502e1940",
    memoryKiB: 131072,
    vcpus: 1,
    os: { type: "hvm", boot: ["hd"] },
    devices,
  };
}

Deno.test("completeTestDefinition names interfaces testnetN with the first free N", () => {
  const done = completeTestDefinition(guest());
  assert.deepEqual(done.devices.interfaces.map((each) => each.target?.dev), [
    "testnet1",
    "testnet0",
  ]);
});

Deno.test("completeTestDefinition makes the console serial port 0 and adds a cirrus video", () => {
  const done = completeTestDefinition(guest());
  assert.deepEqual(done.devices.serials, [{ type: "pty", sources: [], target: { port: 0 } }]);
  assert.deepEqual(done.devices.consoles[0].target, { type: "serial", port: 0 });
  assert.deepEqual(done.devices.videos, [{
    model: { type: "cirrus", vram: 16384, heads: 1, primary: "yes" },
  }]);
  assert.equal(done.devices.videos.length, 1);
});

Deno.test("Host.define records the definition as the driver completes it", async () => {
  const host = await Host.open({
    store: createMemoryStore(),
    drivers: [new TestDriver()],
    log: () => {},
  });
  try {
    await host.define(guest());
    const persistent = host.inspect("vm").persistentDefinition;
    assert.equal(persistent?.devices.interfaces[0].target?.dev, "testnet1");
    assert.equal(persistent?.devices.serials.length, 1);
  } finally {
    await host.close();
  }
});
