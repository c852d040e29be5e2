import assert from "node:assert/strict";
import { HELD_FACTS_MAX } from "../../actors/held_facts.ts";
import { HELD_RETRY_MAX_DELAY_MS } from "../../actors/held_facts_retry.ts";
import { Host } from "../../actors/host.ts";
import { TestDriver } from "../../drivers/test/test_driver.ts";
import type { EventStore, Fact } from "../../src/log/event_store.ts";
import type { StoredFact } from "../../src/log/fact_storage.ts";
import { LogStore } from "../../src/log/log_store.ts";
import { MemoryStorage } from "../../src/log/memory_store.ts";
import { ErrorCode, isVirtError } from "../../src/model/errors.ts";
import { reasonName, stateName } from "../../src/model/lifecycle.ts";
import { loggedEvents, testDefinition } from "../support/domains.ts";
import { rejection } from "../support/rejection.ts";

/** Intent facts: recorded before the hypervisor acts (see actors/domain_intents.ts). */
const INTENT_TYPES = new Set([
  "domain.launching",
  "domain.ending",
  "domain.rebooting",
  "domain.resetting",
  "domain.intent_abandoned",
]);

/**
 * A memory storage whose commits fail with `failure` while it is set. By default a commit of
 * intents alone still succeeds: the disk fills between an intent and its outcome, which is when
 * the hypervisor has acted and its fact must be held. `refuseIntents` fails those too.
 */
class FailingStorage extends MemoryStorage {
  failure: string | undefined;
  refuseIntents = false;
  refusedCommits = 0;
  override commit(facts: readonly StoredFact[], versions: ReadonlyMap<string, number>): void {
    const intentsOnly = facts.every((fact) => INTENT_TYPES.has(fact.type));
    if (this.failure !== undefined && (this.refuseIntents || !intentsOnly)) {
      this.refusedCommits++;
      throw new Error(this.failure);
    }
    super.commit(facts, versions);
  }
}

interface Rig {
  host: Host;
  store: EventStore;
  storage: FailingStorage;
  driver: TestDriver;
  messages: string[];
}

const DISK_FULL = "database or disk is full";

async function withRig(fn: (rig: Rig) => Promise<void>): Promise<void> {
  const storage = new FailingStorage();
  const store = new LogStore(storage);
  const driver = new TestDriver();
  const messages: string[] = [];
  const host = await Host.open({
    store,
    drivers: [driver],
    log: (message) => messages.push(message),
  });
  try {
    await fn({ host, store, storage, driver, messages });
  } finally {
    storage.failure = undefined;
    await host.close();
    await store.close();
  }
}

async function running(rig: Rig, name: string): Promise<void> {
  await rig.host.define(testDefinition(name));
  await rig.host.start(name);
}

function stateText(host: Host, name: string): string {
  const summary = host.lookup(name);
  return `${stateName(summary.state)} (${reasonName(summary.state, summary.reason)})`;
}

/** Resolves once the domain holds no facts, failing after `timeoutMs`. */
async function written(host: Host, name: string, timeoutMs = 5000): Promise<void> {
  const uuid = host.lookup(name).uuid;
  await host.waitFor(uuid, (summary) => summary.pendingFacts === null, timeoutMs);
}

Deno.test("destroy while the log refuses writes: shut off (destroyed), fact pending, cause named", async () => {
  await withRig(async (rig) => {
    await running(rig, "vm");
    const handle = rig.host.inspect("vm").handle!;
    const head = rig.store.headPosition();
    rig.storage.failure = DISK_FULL;

    const error = await rejection(rig.host.destroy("vm"));
    assert.ok(isVirtError(error));
    assert.equal(error.code, ErrorCode.SYSTEM_ERROR);
    assert.equal(
      error.message,
      "cannot write the event log: no space left on device; the domain was destroyed and the fact is pending",
    );
    assert.equal(rig.driver.samples(handle), undefined, "the instance is gone");
    assert.equal(stateText(rig.host, "vm"), "shut off (destroyed)");
    const pending = rig.host.lookup("vm").pendingFacts;
    assert.equal(pending?.facts, 1);
    assert.equal(pending?.cause, "no space left on device");
    assert.equal(pending?.needsReconcile, true);
    // Only the intent, recorded before QEMU was signalled, reached the log.
    const facts = await rig.store.readAll({ afterPosition: head });
    assert.deepEqual(facts.map((fact) => fact.type), ["domain.ending"]);
  });
});

Deno.test("destroy while even its intent cannot be written: refused, nothing done, still running", async () => {
  await withRig(async (rig) => {
    await running(rig, "vm");
    const handle = rig.host.inspect("vm").handle!;
    const head = rig.store.headPosition();
    rig.storage.failure = DISK_FULL;
    rig.storage.refuseIntents = true;

    const error = await rejection(rig.host.destroy("vm"));
    assert.ok(isVirtError(error));
    assert.equal(error.code, ErrorCode.SYSTEM_ERROR);
    assert.match(error.message, /no space left on device/);
    assert.notEqual(rig.driver.samples(handle), undefined, "the instance still runs");
    assert.equal(stateText(rig.host, "vm"), "running (booted)");
    assert.equal(rig.host.lookup("vm").pendingFacts, null);
    assert.equal(rig.store.headPosition(), head, "nothing reached the log");
  });
});

Deno.test("held facts are written by themselves once the log accepts writes, exactly once", async () => {
  await withRig(async (rig) => {
    await running(rig, "vm");
    const head = rig.store.headPosition();
    rig.storage.failure = DISK_FULL;
    await rejection(rig.host.destroy("vm"));
    rig.storage.failure = undefined;
    await written(rig.host, "vm");
    assert.equal(stateText(rig.host, "vm"), "shut off (destroyed)");
    assert.deepEqual(await loggedEvents(rig.store, head), ["Stopped Destroyed"]);
    await rig.host.idle();
    assert.deepEqual(await loggedEvents(rig.store, head), ["Stopped Destroyed"]);
    assert.ok(rig.messages.some((message) => message.includes("1 held facts written")));
  });
});

Deno.test("a subscriber sees a held fact only once it is durable", async () => {
  await withRig(async (rig) => {
    await running(rig, "vm");
    const head = rig.store.headPosition();
    const abort = new AbortController();
    const seen: Fact[] = [];
    const following = (async () => {
      for await (const fact of rig.store.subscribe({ afterPosition: head, signal: abort.signal })) {
        seen.push(fact);
      }
    })();
    rig.storage.failure = DISK_FULL;
    await rejection(rig.host.destroy("vm"));
    await new Promise((resolve) => setTimeout(resolve, 50));
    // The intent was durable before the destroy acted; its outcome is not yet.
    assert.deepEqual(seen.map((fact) => fact.type), ["domain.ending"]);
    rig.storage.failure = undefined;
    await written(rig.host, "vm");
    await new Promise((resolve) => setTimeout(resolve, 20));
    abort.abort();
    await following;
    assert.deepEqual(seen.map((fact) => [fact.position, fact.type]), [
      [head + 1, "domain.ending"],
      [head + 2, "domain.stopped"],
    ]);
  });
});

Deno.test("suspend while the log refuses writes: paused (user) with the fact pending, then written", async () => {
  await withRig(async (rig) => {
    await running(rig, "vm");
    const head = rig.store.headPosition();
    rig.storage.failure = "attempt to write a readonly database";
    const error = await rejection(rig.host.suspend("vm"));
    assert.equal(
      error.message,
      "cannot write the event log: the file system is read-only; the domain was suspended and the fact is pending",
    );
    assert.equal(stateText(rig.host, "vm"), "paused (user)");
    rig.storage.failure = undefined;
    await written(rig.host, "vm");
    await rig.host.idle();
    assert.equal(stateText(rig.host, "vm"), "paused (user)");
    assert.deepEqual(await loggedEvents(rig.store, head), ["Suspended Paused"]);
  });
});

Deno.test("start while the log refuses writes: the instance is ended at once, launch and end held", async () => {
  await withRig(async (rig) => {
    await rig.host.define(testDefinition("vm"));
    const head = rig.store.headPosition();
    const launched: string[] = [];
    const launch = rig.driver.launch.bind(rig.driver);
    rig.driver.launch = (request, signal) => {
      launched.push(request.uuid);
      return launch(request, signal);
    };
    const terminated: string[] = [];
    const terminate = rig.driver.terminate.bind(rig.driver);
    rig.driver.terminate = (handle, options, signal) => {
      terminated.push(handle.uuid);
      return terminate(handle, options, signal);
    };
    rig.storage.failure = DISK_FULL;
    const error = await rejection(rig.host.start("vm"));
    assert.equal(
      error.message,
      "cannot write the event log: no space left on device; the domain was not started " +
        "(its instance was launched, then ended) and 2 facts are pending",
    );
    assert.equal(launched.length, 1);
    assert.deepEqual(terminated, launched);
    // Nothing the log does not know keeps running, even if the service stopped now.
    assert.equal(stateText(rig.host, "vm"), "shut off (failed)");
    assert.equal(rig.host.lookup("vm").pendingFacts?.facts, 2);
    rig.storage.failure = undefined;
    await written(rig.host, "vm");
    await rig.host.idle();
    assert.equal(stateText(rig.host, "vm"), "shut off (failed)");
    const facts = await rig.store.readAll({ afterPosition: head });
    assert.deepEqual(facts.map((fact) => fact.type), [
      "domain.launching",
      "domain.launched",
      "domain.stopped",
    ]);
  });
});

Deno.test("while facts are held, commands that act are refused before acting; destroy and define are not", async () => {
  await withRig(async (rig) => {
    await running(rig, "a");
    await running(rig, "b");
    await rig.host.define(testDefinition("c"));
    rig.storage.failure = DISK_FULL;
    await rejection(rig.host.destroy("a"));
    const handle = rig.host.inspect("b").handle!;

    const refused = await rejection(rig.host.suspend("b"));
    assert.ok(isVirtError(refused));
    assert.equal(refused.code, ErrorCode.SYSTEM_ERROR);
    assert.match(
      refused.message,
      /^cannot write the event log: no space left on device; suspend was not attempted while 1 fact \(first: domain\.stopped of domain 'a'\) wait/,
    );
    assert.equal(stateText(rig.host, "b"), "running (booted)");
    assert.ok(rig.driver.samples(handle) !== undefined);
    await assert.rejects(rig.host.start("c"), /start was not attempted/);
    assert.equal(stateText(rig.host, "c"), "shut off (unknown)");

    // A decision changes nothing outside the log: it simply fails, and nothing is held.
    const define = await rejection(rig.host.define(testDefinition("d")));
    assert.equal(
      define.message,
      "cannot write the event log: no space left on device (database or disk is full)",
    );
    assert.throws(() => rig.host.lookup("d"), /no domain with matching name 'd'/);

    // Destroy only reduces what runs unrecorded: allowed, and held too.
    await assert.rejects(rig.host.destroy("b"), /the domain was destroyed and the fact is pending/);
    assert.equal(stateText(rig.host, "b"), "shut off (destroyed)");
    rig.storage.failure = undefined;
    await written(rig.host, "a");
    await written(rig.host, "b");
    await rig.host.suspend("c").catch((error) => assert.match(error.message, /not running/));
  });
});

Deno.test("held facts of one domain keep their order with later facts of it", async () => {
  await withRig(async (rig) => {
    await running(rig, "vm");
    const head = rig.store.headPosition();
    rig.storage.failure = DISK_FULL;
    await rejection(rig.host.suspend("vm"));
    // The destroy's intent would be written after the held suspend, so it is refused with it:
    // the destroy does not act, and the domain stays as the hypervisor has it.
    await rejection(rig.host.destroy("vm"));
    assert.equal(rig.host.lookup("vm").pendingFacts?.facts, 1);
    assert.equal(stateText(rig.host, "vm"), "paused (user)");
    rig.storage.failure = undefined;
    await written(rig.host, "vm");
    await rig.host.destroy("vm");
    const facts = await rig.store.readAll({ afterPosition: head });
    assert.deepEqual(facts.map((fact) => [fact.type, fact.version]), [
      ["domain.suspended", facts[0].version],
      ["domain.ending", facts[0].version + 1],
      ["domain.stopped", facts[0].version + 2],
    ]);
    assert.equal(stateText(rig.host, "vm"), "shut off (destroyed)");
  });
});

Deno.test("held facts are retried with a growing, bounded delay", async () => {
  await withRig(async (rig) => {
    await running(rig, "vm");
    rig.storage.failure = DISK_FULL;
    await rejection(rig.host.destroy("vm"));
    const refusedAtHold = rig.storage.refusedCommits;
    await new Promise((resolve) => setTimeout(resolve, 1600));
    const retries = rig.storage.refusedCommits - refusedAtHold;
    // 100, 200, 400, 800 ms: four retries in 1.6 s, never one per tick.
    assert.ok(retries >= 2 && retries <= 5, `retries: ${retries}`);
    assert.ok(HELD_RETRY_MAX_DELAY_MS <= 5000);
    assert.equal(rig.host.lookup("vm").pendingFacts?.facts, 1);
  });
});

Deno.test("observations beyond the bound are dropped, and the state returns to the log once the rest is written", async () => {
  await withRig(async (rig) => {
    await running(rig, "vm");
    const uuid = rig.host.lookup("vm").uuid;
    rig.storage.failure = DISK_FULL;
    for (let index = 0; index <= HELD_FACTS_MAX; index++) {
      // Device removals: each is its own fact (balloon and RTC samples coalesce in the queue).
      rig.driver.simulate(uuid, { kind: "device_removed", alias: `ua-disk${index}` });
    }
    await rig.host.idle();
    const pending = rig.host.lookup("vm").pendingFacts;
    assert.equal(pending?.facts, HELD_FACTS_MAX);
    assert.equal(pending?.dropped, 1);
    assert.ok(rig.messages.some((message) => message.includes("dropped")));
    rig.storage.failure = undefined;
    await written(rig.host, "vm");
    await rig.host.idle();
    assert.equal(stateText(rig.host, "vm"), "running (booted)");
  });
});

Deno.test("closing the host while facts are still refused says they are lost", async () => {
  const storage = new FailingStorage();
  const store = new LogStore(storage);
  const messages: string[] = [];
  const host = await Host.open({
    store,
    drivers: [new TestDriver()],
    log: (message) => messages.push(message),
  });
  try {
    await host.define(testDefinition("vm"));
    await host.start("vm");
    storage.failure = DISK_FULL;
    await rejection(host.destroy("vm"));
  } finally {
    await host.close();
    await store.close();
  }
  assert.ok(
    messages.some((message) =>
      /domain vm: 1 held facts \(domain\.stopped\) could not be written \(no space left on device\) and are lost/
        .test(message)
    ),
    messages.join("\n"),
  );
});

Deno.test("a guest shutdown observed while the log refuses writes gets its on_poweroff once written", async () => {
  await withRig(async (rig) => {
    await running(rig, "vm");
    const handle = rig.host.inspect("vm").handle!;
    const head = rig.store.headPosition();
    rig.storage.failure = DISK_FULL;
    // The request reaches the guest without a fact; the guest's shutdown is observed after it.
    await rig.host.shutdown("vm");
    for (let waitedMs = 0; rig.host.lookup("vm").pendingFacts === null; waitedMs += 10) {
      assert.ok(waitedMs < 5000, "the guest's shutdown was never observed");
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await rig.host.idle();
    assert.equal(stateText(rig.host, "vm"), "in shutdown (unknown)");
    assert.equal(rig.host.lookup("vm").pendingFacts?.facts, 1);
    rig.storage.failure = undefined;
    await written(rig.host, "vm");
    await rig.host.idle();
    assert.equal(stateText(rig.host, "vm"), "shut off (shutdown)");
    assert.equal(rig.driver.samples(handle), undefined);
    assert.deepEqual(await loggedEvents(rig.store, head), [
      "Shutdown Finished after guest request",
      "Stopped Shutdown",
    ]);
  });
});

Deno.test("held facts written before a later fact still get their interrupted job finished", async () => {
  await withRig(async (rig) => {
    await running(rig, "vm");
    const head = rig.store.headPosition();
    rig.storage.failure = DISK_FULL;
    await rig.host.shutdown("vm");
    for (let waitedMs = 0; rig.host.lookup("vm").pendingFacts === null; waitedMs += 10) {
      assert.ok(waitedMs < 5000, "the guest's shutdown was never observed");
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await rig.host.idle();
    rig.storage.failure = undefined;
    // Before the first retry is due: the held shutdown is written ahead of this decision's fact.
    await rig.host.setAutostart("vm", true);
    await rig.host.idle();
    assert.equal(stateText(rig.host, "vm"), "shut off (shutdown)");
    const facts = await rig.store.readAll({ afterPosition: head });
    assert.deepEqual(facts.map((fact) => fact.type), [
      "domain.shutdown",
      "domain.autostart_changed",
      "domain.ending",
      "domain.stopped",
    ]);
  });
});

Deno.test("an instance's end observed while the log refuses writes is recorded and released once written", async () => {
  await withRig(async (rig) => {
    await running(rig, "vm");
    const uuid = rig.host.lookup("vm").uuid;
    const head = rig.store.headPosition();
    const released: string[] = [];
    const unwatch = rig.driver.unwatch.bind(rig.driver);
    rig.driver.unwatch = (releasedUuid) => {
      released.push(releasedUuid);
      unwatch(releasedUuid);
    };
    rig.storage.failure = DISK_FULL;
    rig.driver.simulate(uuid, { kind: "stopped", reason: "crashed" });
    await rig.host.idle();
    assert.equal(stateText(rig.host, "vm"), "shut off (crashed)");
    assert.deepEqual(released, [], "released only once its end is durable");
    rig.storage.failure = undefined;
    await written(rig.host, "vm");
    await rig.host.idle();
    assert.deepEqual(released, [uuid]);
    assert.deepEqual(await loggedEvents(rig.store, head), ["Stopped Failed"]);
  });
});
