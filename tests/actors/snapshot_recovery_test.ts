/**
 * Snapshot intents a crash left pending are settled when the host opens: a snapshot begun on a
 * shut-off domain is undone (its new overlay files removed, no snapshot recorded), a deletion
 * is finished, a revert is done again (or closed when it cannot be); and the tree itself is
 * folded back from the log.
 */

import assert from "node:assert/strict";
import { Host } from "../../actors/host.ts";
import { TestDriver } from "../../drivers/test/test_driver.ts";
import type { EventStore } from "../../src/log/event_store.ts";
import { createMemoryStore } from "../../src/log/memory_store.ts";
import { type DomainFact, domainStream } from "../../src/model/facts.ts";
import type { StoredSnapshot } from "../../src/model/snapshot_tree.ts";
import { testDefinition } from "../support/domains.ts";

async function seed(store: EventStore, uuid: string, facts: DomainFact[]): Promise<void> {
  await store.append(
    domainStream(uuid),
    facts.map((fact) => ({ type: fact.type, body: fact.body as never })),
    0,
  );
}

function stored(name: string, parent?: string): StoredSnapshot {
  return {
    definition: {
      name,
      ...(parent === undefined ? {} : { parent }),
      state: "shutoff",
      creationTimeSeconds: 100,
      memory: "no",
      disks: [],
    },
  };
}

Deno.test("an interrupted snapshot of a shut-off domain is undone: overlays removed, nothing recorded", async () => {
  const store = createMemoryStore();
  const definition = testDefinition("vm");
  const dir = await Deno.makeTempDir({ prefix: "evirt-snapshot-recovery-" });
  const overlay = `${dir}/vm.s2`;
  await Deno.writeFile(overlay, new Uint8Array(16));
  await seed(store, definition.uuid!, [
    { type: "domain.defined", body: { definition, detail: "added" } },
    {
      type: "domain.snapshot_created",
      body: { snapshot: stored("s1"), metadata: true, current: true },
    },
    {
      type: "domain.snapshot_creating",
      body: { name: "s2", internal: false, overlays: [overlay] },
    },
  ]);
  const host = await Host.open({ store, drivers: [new TestDriver()], log: () => {} });
  try {
    const context = host.context("vm");
    assert.equal(context.intent, null);
    assert.deepEqual(Object.keys(context.snapshots!.snapshots), ["s1"]);
    assert.equal(context.snapshots!.current, "s1");
    await assert.rejects(() => Deno.stat(overlay), Deno.errors.NotFound);
  } finally {
    await host.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an interrupted deletion is finished; children go to the survivor above", async () => {
  const store = createMemoryStore();
  const definition = testDefinition("vm");
  await seed(store, definition.uuid!, [
    { type: "domain.defined", body: { definition, detail: "added" } },
    {
      type: "domain.snapshot_created",
      body: { snapshot: stored("a"), metadata: true, current: true },
    },
    {
      type: "domain.snapshot_created",
      body: { snapshot: stored("b", "a"), metadata: true, current: true },
    },
    {
      type: "domain.snapshot_created",
      body: { snapshot: stored("c", "b"), metadata: true, current: true },
    },
    { type: "domain.snapshot_deleting", body: { names: ["b"] } },
  ]);
  const host = await Host.open({ store, drivers: [new TestDriver()], log: () => {} });
  try {
    const context = host.context("vm");
    assert.equal(context.intent, null);
    assert.deepEqual(Object.keys(context.snapshots!.snapshots).sort(), ["a", "c"]);
    assert.equal(context.snapshots!.snapshots.c.definition.parent, "a");
    assert.equal(context.snapshots!.current, "c");
  } finally {
    await host.close();
  }
});

Deno.test("an interrupted revert is done again: the snapshot's domain runs as asked, the snapshot current", async () => {
  const store = createMemoryStore();
  const definition = testDefinition("vm");
  const snapshot = stored("a");
  snapshot.definition.domain = definition;
  await seed(store, definition.uuid!, [
    { type: "domain.defined", body: { definition, detail: "added" } },
    {
      type: "domain.snapshot_created",
      body: { snapshot, metadata: true, current: false },
    },
    { type: "domain.snapshot_reverting", body: { name: "a", running: true } },
  ]);
  const host = await Host.open({ store, drivers: [new TestDriver()], log: () => {} });
  try {
    const context = host.context("vm");
    assert.equal(context.intent, null);
    assert.equal(context.reverting, null);
    assert.equal(context.snapshots!.current, "a");
    assert.equal(host.lookup("vm").active, true, "run as the revert asked");
  } finally {
    await host.close();
  }
});

Deno.test("an interrupted revert to a snapshot it cannot revert to is closed, the tree kept", async () => {
  const store = createMemoryStore();
  const definition = testDefinition("vm");
  await seed(store, definition.uuid!, [
    { type: "domain.defined", body: { definition, detail: "added" } },
    {
      type: "domain.snapshot_created",
      body: { snapshot: stored("a"), metadata: true, current: true },
    },
    { type: "domain.snapshot_reverting", body: { name: "a" } },
  ]);
  const host = await Host.open({ store, drivers: [new TestDriver()], log: () => {} });
  try {
    assert.equal(host.context("vm").intent, null);
    assert.equal(host.context("vm").reverting, null);
    assert.deepEqual(Object.keys(host.context("vm").snapshots!.snapshots), ["a"]);
  } finally {
    await host.close();
  }
});
