import assert from "node:assert/strict";
import { setImmediate } from "node:timers";
import { createMemoryStore } from "../../../src/log/mod.ts";
import { EventHub } from "../../../src/projections/event_hub.ts";

const DEFINED = { type: "DomainDefined", body: { name: "web" } };

Deno.test("the hub wakes a waiter within the commit's turn, before the loop's next turn", async () => {
  const store = createMemoryStore();
  const hub = new EventHub(store, () => "web");
  const stop = new AbortController();
  try {
    const head = hub.head;
    const woken = hub.waitBeyond(head, 5000, stop.signal);
    await store.append("domain/web", [DEFINED], 0);
    // The commit ran in an earlier immediate; one more turn must not be needed.
    const outcome = await Promise.race([
      woken,
      new Promise((resolve) => setImmediate(() => resolve("a turn later"))),
    ]);
    assert.equal(outcome, "new");
    const batch = await hub.batchAfter(head, 10);
    assert.deepEqual(batch.map((entry) => entry.position), [head + 1]);
  } finally {
    stop.abort();
    await hub.close();
    await store.close();
  }
});

Deno.test("the hub wakes once per burst and hands the whole burst in one batch", async () => {
  const store = createMemoryStore();
  const hub = new EventHub(store, () => "web");
  const stop = new AbortController();
  try {
    const head = hub.head;
    const woken = hub.waitBeyond(head, 5000, stop.signal);
    await Promise.all([
      store.append("domain/a", [DEFINED], 0),
      store.append("domain/b", [DEFINED], 0),
      store.append("domain/c", [DEFINED], 0),
    ]);
    assert.equal(await woken, "new");
    const batch = await hub.batchAfter(head, 10);
    assert.deepEqual(batch.map((entry) => entry.position), [head + 1, head + 2, head + 3]);
    assert.deepEqual(await hub.batchAfter(head + 3, 10), []);
  } finally {
    stop.abort();
    await hub.close();
    await store.close();
  }
});

Deno.test("a waiter with nothing new times out, and one whose signal aborts ends", async () => {
  const store = createMemoryStore();
  const hub = new EventHub(store, () => "web");
  try {
    assert.equal(await hub.waitBeyond(hub.head, 10, new AbortController().signal), "timeout");
    const stop = new AbortController();
    const waiting = hub.waitBeyond(hub.head, 5000, stop.signal);
    stop.abort();
    assert.equal(await waiting, "ended");
  } finally {
    await hub.close();
    await store.close();
  }
});
