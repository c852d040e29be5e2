/**
 * The host never loses a lifecycle observation silently: when a domain's observation queue is
 * full, the refused observation sends the domain to a resync with its driver, which records
 * what the refused observations would have.
 */

import assert from "node:assert/strict";
import type { DomainHandle, Reality } from "../../actors/driver_protocol.ts";
import { OBSERVATION_QUEUE_MAX } from "../../actors/domain_actor.ts";
import { Host } from "../../actors/host.ts";
import { TestDriver } from "../../drivers/test/test_driver.ts";
import { createMemoryStore } from "../../src/log/memory_store.ts";
import { reasonName, stateName } from "../../src/model/lifecycle.ts";
import { testDefinition } from "../support/domains.ts";

/** The test hypervisor, with a status a test sets: a driver that can be re-read. */
class ReadableDriver extends TestDriver {
  reality: Reality = { kind: "running" };
  statusCalls = 0;

  status(_handle: DomainHandle, _signal: AbortSignal): Promise<Reality> {
    this.statusCalls++;
    return Promise.resolve(this.reality);
  }
}

async function rig() {
  const driver = new ReadableDriver();
  const lines: string[] = [];
  const store = createMemoryStore();
  const host = await Host.open({
    store,
    drivers: [driver],
    log: (line) => lines.push(line),
  });
  await host.create(testDefinition("vm"));
  return { driver, host, lines, store, uuid: host.lookup("vm").uuid };
}

function stateText(host: Host): string {
  const { state, reason } = host.lookup("vm");
  return `${stateName(state)} (${reasonName(state, reason)})`;
}

Deno.test("Host resyncs a domain whose lifecycle observation was refused by a full queue", async () => {
  const { driver, host, lines, uuid } = await rig();
  try {
    // One observation runs, OBSERVATION_QUEUE_MAX wait; the pause after them is refused.
    for (let index = 0; index <= OBSERVATION_QUEUE_MAX; index++) {
      driver.simulate(uuid, { kind: "reset" });
    }
    driver.simulate(uuid, { kind: "paused", reason: "user" });
    driver.reality = { kind: "paused", reason: "user" };
    await host.idle();
    await new Promise((resolve) => setTimeout(resolve, 0));
    await host.idle();
    assert.equal(stateText(host), "paused (user)");
    assert.equal(driver.statusCalls, 1);
    assert.ok(lines.some((line) => line.includes("observation queue of")), lines.join("\n"));
    assert.ok(lines.some((line) => line.includes("re-reading it from its driver")));
  } finally {
    await host.close();
  }
});

Deno.test("Host coalesces balloon observations still waiting: the latest size is recorded", async () => {
  const { driver, host, store, uuid } = await rig();
  try {
    for (let index = 0; index < 100; index++) {
      driver.simulate(uuid, { kind: "balloon", actualKiB: 1024 + index });
    }
    await host.idle();
    const sizes = (await store.readAll({ afterPosition: 0 }))
      .filter((fact) => fact.type === "domain.balloon_changed")
      .map((fact) => (fact.body as { actualKiB: number }).actualKiB);
    // The first ran at once; the 99 after it waited and merged into one, the latest.
    assert.deepEqual(sizes, [1024, 1123]);
    assert.equal(driver.statusCalls, 0, "nothing was refused");
  } finally {
    await host.close();
  }
});
