import assert from "node:assert/strict";
import { Host } from "../../actors/host.ts";
import { createMemoryStore } from "../../src/log/memory_store.ts";
import { isVirtError } from "../../src/model/errors.ts";
import { TestDriver } from "../../drivers/test/test_driver.ts";
import { loggedEvents, testDefinition } from "../support/domains.ts";

async function open(store = createMemoryStore()) {
  const host = await Host.open({ store, drivers: [new TestDriver()], log: () => {} });
  return { host, store };
}

Deno.test("rename of an inactive domain records one DEFINED (renamed) fact and moves the name", async () => {
  const { host, store } = await open();
  try {
    await host.define(testDefinition("old"));
    const before = store.headPosition();
    await host.command("rename", "old", { newName: "new" });
    assert.deepEqual(await loggedEvents(store, before), ["Defined Renamed"]);
    assert.equal(host.lookup("new").name, "new");
    assert.equal(host.context("new").definition?.name, "new");
    assert.throws(() => host.lookup("old"), (error: unknown) => isVirtError(error, 42));
    // The old name is free again; the new one is taken.
    await host.define(testDefinition("old"));
    await assert.rejects(
      host.command("rename", "old", { newName: "new" }),
      (error: unknown) =>
        isVirtError(error, 55) &&
        (error as Error).message === "domain with name 'new' already exists",
    );
  } finally {
    await host.close();
  }
});

Deno.test("rename is refused while active, for a transient domain and to the same name", async () => {
  const { host } = await open();
  try {
    await host.define(testDefinition("vm"));
    await assert.rejects(
      host.command("rename", "vm", { newName: "vm" }),
      (error: unknown) =>
        isVirtError(error, 55) && (error as Error).message === "Can't rename domain to itself",
    );
    await host.start("vm");
    await assert.rejects(
      host.command("rename", "vm", { newName: "other" }),
      (error: unknown) =>
        isVirtError(error, 55) && (error as Error).message === "cannot rename active domain",
    );
    await host.create(testDefinition("passing"));
    await host.command("destroy", "vm", {});
    assert.equal(host.lookup("vm").name, "vm");
  } finally {
    await host.close();
  }
});

Deno.test("a renamed domain keeps its new name after the host recovers from the log", async () => {
  const first = await open();
  await first.host.define(testDefinition("before"));
  const uuid = first.host.lookup("before").uuid;
  await first.host.command("rename", "before", { newName: "after" });
  await first.host.close();
  const second = await open(first.store);
  try {
    assert.equal(second.host.lookup("after").uuid, uuid);
    assert.equal(second.host.context("after").definition?.name, "after");
    assert.throws(() => second.host.lookup("before"), (error: unknown) => isVirtError(error, 42));
    await second.host.start("after");
    assert.equal(second.host.context("after").live?.name, "after");
  } finally {
    await second.host.close();
  }
});
