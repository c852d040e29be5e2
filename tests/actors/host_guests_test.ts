import assert from "node:assert/strict";
import { Host } from "../../actors/host.ts";
import { HostGuests } from "../../actors/host_guests.ts";
import { TestDriver, type TestLatencies } from "../../drivers/test/test_driver.ts";
import { GUESTS_POLICY_DEFAULT, type GuestsPolicy } from "../../src/config/guests_policy.ts";
import type { EventStore } from "../../src/log/event_store.ts";
import { createMemoryStore } from "../../src/log/memory_store.ts";
import { testDefinition } from "../support/domains.ts";

interface Rig {
  host: Host;
  store: EventStore;
  guests: HostGuests;
  /** Every injected sleep, in ms. */
  slept: number[];
}

async function rig(
  policy: Partial<GuestsPolicy>,
  latencies: Partial<TestLatencies> = {},
): Promise<Rig> {
  const store = createMemoryStore();
  const host = await Host.open({
    store,
    drivers: [new TestDriver({ latencies })],
    log: () => {},
  });
  const slept: number[] = [];
  const guests = new HostGuests({
    host,
    policy: { ...GUESTS_POLICY_DEFAULT, ...policy },
    // Time passes at once: the waits are counted, not waited.
    sleep: (ms) => {
      slept.push(ms);
      return Promise.resolve();
    },
  });
  return { host, store, guests, slept };
}

async function running(r: Rig, ...names: string[]): Promise<void> {
  for (const name of names) {
    await r.host.define(testDefinition(name));
    await r.host.start(name);
  }
}

async function close(r: Rig): Promise<void> {
  await r.guests.close();
  await r.host.close();
}

Deno.test("a stop records every running guest on the list before it acts on any", async () => {
  const r = await rig({ onShutdown: "shutdown" });
  try {
    await running(r, "a", "b");
    const after = r.store.headPosition();
    const view = await r.guests.stop();
    assert.deepEqual(view.listed.map((each) => [each.name, each.action, each.order]), [
      ["a", "shutdown", 0],
      ["b", "shutdown", 1],
    ]);
    await r.guests.settled();
    const types = (await r.store.readAll({ afterPosition: after })).map((fact) => fact.type);
    const lastListed = types.lastIndexOf("domain.guests_listed");
    assert.equal(types.filter((type) => type === "domain.guests_listed").length, 2);
    assert.ok(lastListed < types.indexOf("domain.shutdown"), types.join(", "));
    assert.deepEqual(r.guests.view().pass?.lines, [
      "Running guests on evirt:///system URI: a, b",
      "Shutting down guests on evirt:///system URI...",
      "Starting shutdown on guest: a",
      "Shutdown of guest a complete.",
      "Starting shutdown on guest: b",
      "Shutdown of guest b complete.",
    ]);
    assert.equal(r.guests.view().pass?.failed, false);
    assert.deepEqual(r.host.list({ active: true }), []);
  } finally {
    await close(r);
  }
});

Deno.test("on_boot = start starts the listed guests that are off, START_DELAY apart, and finds active ones already active", async () => {
  const r = await rig({ onShutdown: "shutdown", onBoot: "start", startDelaySeconds: 7 });
  try {
    await running(r, "a", "b", "c");
    await r.guests.stop();
    await r.guests.settled();
    // Started meanwhile (as autostart does before the host's guests start): not started twice.
    await r.host.start("b");
    r.slept.length = 0;
    r.guests.start();
    await r.guests.settled();
    assert.deepEqual(r.guests.view().pass?.lines, [
      "Resuming guests on evirt:///system URI...",
      "Resuming guest a: done",
      "Resuming guest b: already active",
      "Resuming guest c: done",
    ]);
    assert.deepEqual(r.slept, [7000], "one delay: between the two starts");
    assert.deepEqual(r.host.list({ active: true }).map((each) => each.name).sort(), [
      "a",
      "b",
      "c",
    ]);
    assert.deepEqual(r.guests.listed(), []);
    assert.equal(r.host.context("a").guestsListed, null);
  } finally {
    await close(r);
  }
});

Deno.test("on_boot = ignore drops the list and starts nothing", async () => {
  const r = await rig({ onShutdown: "shutdown", onBoot: "ignore" });
  try {
    await running(r, "a");
    await r.guests.stop();
    await r.guests.settled();
    r.guests.start();
    await r.guests.settled();
    assert.deepEqual(r.guests.view().pass?.lines, [
      "evirt is configured not to start any guests on boot",
    ]);
    assert.deepEqual(r.guests.listed(), []);
    assert.deepEqual(r.host.list({ active: true }), []);
  } finally {
    await close(r);
  }
});

Deno.test("a start with nothing listed writes no line", async () => {
  const r = await rig({ onBoot: "start" });
  try {
    await running(r, "a");
    r.guests.start();
    await r.guests.settled();
    assert.deepEqual(r.guests.view().pass?.lines, []);
  } finally {
    await close(r);
  }
});

Deno.test("suspend leaves transient guests out and reports a save the driver refuses", async () => {
  const r = await rig({ onShutdown: "suspend" });
  try {
    await running(r, "kept");
    await r.host.create(testDefinition("passing"));
    const view = await r.guests.stop();
    assert.deepEqual(view.listed.map((each) => each.name), ["kept"]);
    await r.guests.settled();
    const pass = r.guests.view().pass!;
    assert.deepEqual(pass.lines.slice(0, 4), [
      "Running guests on evirt:///system URI: kept, passing",
      "Not suspending transient guests on URI: evirt:///system: passing",
      "Suspending guests on evirt:///system URI...",
      "Suspending kept: ...",
    ]);
    // The test hypervisor has no managed save (code 3): libvirt-guests' status is 1.
    assert.match(pass.lines[4], /^error: Failed to save domain 'kept' state: /);
    assert.equal(pass.failed, true);
    assert.equal(r.host.lookup("kept").active, true);
  } finally {
    await close(r);
  }
});

Deno.test("a parallel shutdown that outlasts SHUTDOWN_TIMEOUT stops waiting and fails, as libvirt-guests", async () => {
  const r = await rig(
    { onShutdown: "shutdown", parallelShutdown: 2, shutdownTimeoutSeconds: 2 },
    { guestShutdownMs: 60_000 },
  );
  try {
    await running(r, "a", "b", "c");
    await r.guests.stop();
    await r.guests.settled();
    const pass = r.guests.view().pass!;
    assert.deepEqual(pass.lines, [
      "Running guests on evirt:///system URI: a, b, c",
      "Shutting down guests on evirt:///system URI...",
      "Starting shutdown on guest: a",
      "Starting shutdown on guest: b",
      "Timeout expired while shutting down domains",
    ]);
    assert.equal(pass.failed, true);
    assert.equal(r.host.lookup("c").active, true, "never asked: the timeout came first");
  } finally {
    await r.guests.close();
    for (const name of ["a", "b", "c"]) await r.host.destroy(name);
    await r.host.close();
  }
});

Deno.test("a second stop while one runs is refused; the view's lines follow from an index", async () => {
  const r = await rig({ onShutdown: "shutdown" }, { guestShutdownMs: 5 });
  try {
    await running(r, "a");
    await r.guests.stop();
    await assert.rejects(() => r.guests.stop(), /the host's guests are being stopped/);
    await r.guests.settled();
    const all = r.guests.view().pass!;
    const tail = r.guests.view(2).pass!;
    assert.equal(tail.firstLine, 2);
    assert.deepEqual(tail.lines, all.lines.slice(2));
    assert.equal(tail.lineCount, all.lines.length);
  } finally {
    await close(r);
  }
});

Deno.test("the list is the domains' own facts: it survives a restart of the host and its snapshot", async () => {
  const store = createMemoryStore();
  const open = () => Host.open({ store, drivers: [new TestDriver()], log: () => {} });
  let host = await open();
  try {
    await host.define(testDefinition("a"));
    await host.start("a");
    const guests = new HostGuests({ host, policy: { ...GUESTS_POLICY_DEFAULT } });
    await guests.stop();
    await guests.close();
    assert.equal(await host.saveSnapshot(), true);
    await host.close();
    host = await open();
    const again = new HostGuests({ host, policy: { ...GUESTS_POLICY_DEFAULT, onBoot: "start" } });
    assert.deepEqual(again.listed().map((each) => [each.name, each.action, each.active]), [
      ["a", "shutdown", false],
    ]);
    again.start();
    await again.settled();
    assert.equal(host.lookup("a").active, true);
    assert.deepEqual(again.listed(), []);
    await again.close();
  } finally {
    await host.close();
  }
});

Deno.test("SYNC_TIME asks the guest agent after each start and reports its error without failing", async () => {
  const r = await rig({ onShutdown: "shutdown", onBoot: "start", syncTime: true });
  try {
    await running(r, "a");
    await r.guests.stop();
    await r.guests.settled();
    r.guests.start();
    await r.guests.settled();
    const pass = r.guests.view().pass!;
    assert.equal(pass.lines[1], "Resuming guest a: done");
    // The test hypervisor has no guest agent: virsh's error is shown, the status kept.
    assert.match(pass.lines[2], /^error: a: /);
    assert.equal(pass.failed, false);
  } finally {
    await close(r);
  }
});
