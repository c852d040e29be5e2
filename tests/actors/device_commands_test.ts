/**
 * Device changes in the domain machine and the host: the facts fold into the persistent and
 * live definitions and the pending removals (as replay folds them), the wait for a removal ends
 * on its fact or after the deadline, and a driver without device changes (the test driver, as
 * libvirt's) answers code 3 naming the API and appends nothing. The QEMU side runs against a
 * real guest in tests/integration/device_hotplug_qemu_test.ts.
 */

import assert from "node:assert/strict";
import { initialTransition } from "xstate";
import { awaitRemovals } from "../../actors/device_commands.ts";
import { applyFact, domainMachine, type DomainSnapshot } from "../../actors/domain_machine.ts";
import { Host } from "../../actors/host.ts";
import { TestDriver } from "../../drivers/test/test_driver.ts";
import { createMemoryStore } from "../../src/log/memory_store.ts";
import type { DomainDefinition } from "../../src/model/domain.ts";
import { ErrorCode, isVirtError } from "../../src/model/errors.ts";
import type { DomainFact } from "../../src/model/facts.ts";
import { libvirtEventOf } from "../../src/model/lifecycle_table.ts";
import { parseDeviceXml } from "../../src/xml/parse_device.ts";
import { loggedEvents, testDefinition } from "../support/domains.ts";

const UUID = "00000000-0000-4000-8000-00000000d15c";

function withDisk(definition: DomainDefinition, dev: string, alias?: string): DomainDefinition {
  const copy = structuredClone(definition);
  copy.devices.disks.push({ target: { dev, bus: "virtio" }, ...(alias ? { alias } : {}) });
  return copy;
}

function fold(facts: DomainFact[]): DomainSnapshot {
  let [snapshot] = initialTransition(domainMachine, { uuid: UUID }) as [DomainSnapshot, unknown];
  for (const fact of facts) snapshot = applyFact(snapshot, fact);
  return snapshot;
}

const DEFINITION = testDefinition("vm", { uuid: UUID });
const RUNNING: DomainFact[] = [
  { type: "domain.defined", body: { definition: DEFINITION, detail: "added" } },
  {
    type: "domain.launched",
    body: { id: 1, definition: null, persistent: true, runtime: { driver: "test" } },
  },
  { type: "domain.started", body: { detail: "booted", reason: "booted" } },
];

Deno.test("a config change replaces the persistent definition only", () => {
  const changed = withDisk(DEFINITION, "vdb");
  const snapshot = fold([...RUNNING, {
    type: "domain.device_config_changed",
    body: { action: "attach", definition: changed },
  }]);
  assert.deepEqual(snapshot.context.definition, changed);
  assert.deepEqual(snapshot.context.live, DEFINITION);
});

Deno.test("an attached device changes the live definition and is libvirt's DEVICE_ADDED", () => {
  const live = withDisk(DEFINITION, "vdb", "virtio-disk1");
  const fact: DomainFact = {
    type: "domain.device_attached",
    body: { alias: "virtio-disk1", live },
  };
  assert.deepEqual(fold([...RUNNING, fact]).context.live, live);
  assert.deepEqual(fold([...RUNNING, fact]).context.definition, DEFINITION);
  assert.equal(libvirtEventOf(fact)?.eventId, 19);
});

Deno.test("a removal stays pending from its intent until the guest's DEVICE_DELETED", () => {
  const live = withDisk(DEFINITION, "vdb", "virtio-disk1");
  const attached: DomainFact[] = [...RUNNING, {
    type: "domain.device_attached",
    body: { alias: "virtio-disk1", live },
  }];
  const requested = fold([...attached, {
    type: "domain.device_removal_requested",
    body: { alias: "virtio-disk1" },
  }]);
  assert.deepEqual(requested.context.removals, ["virtio-disk1"]);
  assert.equal(requested.context.live?.devices.disks.length, 1, "still there");
  const removed = applyFact(requested, {
    type: "domain.device_removed",
    body: { alias: "virtio-disk1" },
  });
  assert.deepEqual(removed.context.removals, []);
  assert.equal(removed.context.live?.devices.disks.length, 0);
  const failed = applyFact(requested, {
    type: "domain.device_removal_failed",
    body: { alias: "virtio-disk1" },
  });
  assert.deepEqual(failed.context.removals, []);
  assert.equal(failed.context.live?.devices.disks.length, 1);
  const stopped = applyFact(requested, {
    type: "domain.stopped",
    body: { detail: "destroyed", reason: "destroyed" },
  });
  assert.deepEqual(stopped.context.removals, []);
});

Deno.test("the wait for a removal ends when it is recorded, or answers what is left", async () => {
  let pending = ["old", "ours"];
  const listeners = new Set<(uuid: string) => void>();
  const source = {
    pending: () => pending,
    onApplied: (listener: (uuid: string) => void) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  const waiting = awaitRemovals(source, UUID, ["old"], 5_000);
  pending = ["old"];
  for (const listener of listeners) listener(UUID);
  assert.deepEqual(await waiting, []);
  assert.equal(listeners.size, 0, "unsubscribed");
  pending = ["old", "ours"];
  assert.deepEqual(await awaitRemovals(source, UUID, ["old"], 20), ["ours"]);
  assert.equal(listeners.size, 0);
});

Deno.test("the test driver has no device changes: code 3 naming the API, nothing appended", async () => {
  const store = createMemoryStore();
  const host = await Host.open({ store, drivers: [new TestDriver()], log: () => {} });
  try {
    await host.define(testDefinition("vm"));
    const before = (await loggedEvents(store)).length;
    const change = parseDeviceXml(
      "<disk type='file'><source file='/b'/><target dev='vdb'/></disk>",
    );
    for (
      const [command, api] of [
        [{ action: "attach" as const, change, config: true }, "virDomainAttachDeviceFlags"],
        [
          { action: "detach" as const, change, live: true, api: "virDomainDetachDevice" },
          "virDomainDetachDevice",
        ],
        [{ action: "update" as const, change }, "virDomainUpdateDeviceFlags"],
      ] as const
    ) {
      await assert.rejects(
        () => host.changeDevice("vm", command),
        (error) =>
          isVirtError(error, ErrorCode.NO_SUPPORT) &&
          error.message === api, // libvirt's text: "this function is not supported … : <api>"
      );
    }
    assert.equal((await loggedEvents(store)).length, before);
  } finally {
    await host.close();
  }
});
