import assert from "node:assert/strict";
import { Host } from "../../actors/host.ts";
import { createMemoryStore } from "../../src/log/memory_store.ts";
import type { EventStore } from "../../src/log/event_store.ts";
import { isVirtError } from "../../src/model/errors.ts";
import { reasonName, stateName } from "../../src/model/lifecycle.ts";
import { TestDriver, type TestLatencies } from "../../drivers/test/test_driver.ts";
import type { Observation } from "../../actors/driver_protocol.ts";
import type { DomainDefinition } from "../../src/model/domain.ts";
import { loggedEvents, testDefinition } from "../support/domains.ts";
import { isCompactDefinition } from "../../src/model/compact_definition.ts";
import { formatDomainXml } from "../../src/xml/format_domain.ts";

interface Rig {
  host: Host;
  store: EventStore;
  driver: TestDriver;
}

async function rig(latencies: Partial<TestLatencies> = {}): Promise<Rig> {
  const store = createMemoryStore();
  const driver = new TestDriver({ latencies });
  const host = await Host.open({ store, drivers: [driver], log: () => {} });
  return { host, store, driver };
}

function stateText(host: Host, name: string): string {
  const summary = host.lookup(name);
  return `${stateName(summary.state)} (${reasonName(summary.state, summary.reason)})`;
}

async function eventsAfter(store: EventStore, position: number): Promise<string[]> {
  return await loggedEvents(store, position);
}

async function defined(r: Rig, name: string, overrides: Partial<DomainDefinition> = {}) {
  const definition = testDefinition(name, overrides);
  await r.host.define(definition);
  return definition;
}

async function running(r: Rig, name: string, overrides: Partial<DomainDefinition> = {}) {
  const definition = await defined(r, name, overrides);
  await r.host.start(name);
  return definition;
}

/** One row of reference §3: set-up, trigger, then the state and the events the trigger emitted. */
interface Row {
  name: string;
  setup: (r: Rig) => Promise<void>;
  trigger: (r: Rig) => Promise<void>;
  state: string;
  events: string[];
  domain?: string;
}

const ROWS: Row[] = [
  {
    name: "define, new name",
    setup: async () => {},
    trigger: async (r) => void await defined(r, "vm"),
    state: "shut off (unknown)",
    events: ["Defined Added"],
  },
  {
    name: "define, existing name and same uuid",
    setup: async (r) =>
      void await defined(r, "vm", { uuid: "11111111-2222-4333-8444-555555555555" }),
    trigger: async (r) =>
      void await r.host.define(
        testDefinition("vm", { uuid: "11111111-2222-4333-8444-555555555555", vcpus: 4 }),
      ),
    state: "shut off (unknown)",
    events: ["Defined Updated"],
  },
  {
    name: "define, existing name and same uuid, while running",
    setup: async (r) =>
      void await running(r, "vm", { uuid: "11111111-2222-4333-8444-555555555556" }),
    trigger: async (r) =>
      void await r.host.define(
        testDefinition("vm", { uuid: "11111111-2222-4333-8444-555555555556", vcpus: 4 }),
      ),
    state: "running (booted)",
    events: ["Defined Updated"],
  },
  {
    name: "undefine of an inactive domain",
    setup: async (r) => void await defined(r, "keep"),
    trigger: async (r) => {
      await defined(r, "vm");
      await r.host.undefine("vm");
    },
    domain: "keep",
    state: "shut off (unknown)",
    events: ["Defined Added", "Undefined Removed"],
  },
  {
    name: "undefine of a running domain keeps it running as transient",
    setup: async (r) => void await running(r, "vm"),
    trigger: (r) => r.host.undefine("vm"),
    state: "running (booted)",
    events: ["Undefined Removed"],
  },
  {
    name: "start",
    setup: async (r) => void await defined(r, "vm"),
    trigger: (r) => r.host.start("vm"),
    state: "running (booted)",
    events: ["Started Booted"],
  },
  {
    name: "start with START_PAUSED",
    setup: async (r) => void await defined(r, "vm"),
    trigger: (r) => r.host.start("vm", { paused: true }),
    state: "paused (user)",
    events: ["Started Booted", "Suspended Paused"],
  },
  {
    name: "create from XML (transient)",
    setup: async () => {},
    trigger: async (r) => void await r.host.create(testDefinition("vm")),
    state: "running (booted)",
    events: ["Started Booted"],
  },
  {
    name: "suspend",
    setup: async (r) => void await running(r, "vm"),
    trigger: (r) => r.host.suspend("vm"),
    state: "paused (user)",
    events: ["Suspended Paused"],
  },
  {
    name: "resume",
    setup: async (r) => {
      await running(r, "vm");
      await r.host.suspend("vm");
    },
    trigger: (r) => r.host.resume("vm"),
    state: "running (unpaused)",
    events: ["Resumed Unpaused"],
  },
  {
    name: "shutdown: the guest's SHUTDOWN, then the driver ends it",
    setup: async (r) => void await running(r, "vm"),
    trigger: async (r) => {
      await r.host.shutdown("vm");
      await settle(r);
    },
    state: "shut off (shutdown)",
    events: ["Shutdown Finished after guest request", "Stopped Shutdown"],
  },
  {
    name: "destroy",
    setup: async (r) => void await running(r, "vm"),
    trigger: (r) => r.host.destroy("vm"),
    state: "shut off (destroyed)",
    events: ["Stopped Destroyed"],
  },
  {
    name: "reboot stays running and emits one REBOOT",
    setup: async (r) => void await running(r, "vm"),
    trigger: async (r) => {
      await r.host.reboot("vm");
      await settle(r);
    },
    state: "running (booted)",
    events: ["reboot"],
  },
  {
    name: "reset emits one REBOOT",
    setup: async (r) => void await running(r, "vm"),
    trigger: (r) => r.host.reset("vm"),
    state: "running (booted)",
    events: ["reboot"],
  },
  {
    name: "the process exits when no shutdown was under way",
    setup: async (r) => void await running(r, "vm"),
    trigger: (r) => simulate(r, "vm", { kind: "stopped", reason: "crashed" }),
    state: "shut off (crashed)",
    events: ["Stopped Failed"],
  },
  {
    name: "watchdog with action pause",
    setup: async (r) => void await running(r, "vm"),
    trigger: async (r) => {
      await simulate(r, "vm", { kind: "watchdog", action: "pause" });
      await simulate(r, "vm", { kind: "paused", reason: "watchdog" });
    },
    state: "paused (watchdog)",
    events: ["watchdog", "Suspended Watchdog"],
  },
  {
    name: "BLOCK_IO_ERROR with action stop",
    setup: async (r) => void await running(r, "vm"),
    trigger: async (r) => {
      await simulate(r, "vm", {
        kind: "io_error",
        srcPath: "/img",
        devAlias: "virtio-disk0",
        action: "pause",
        reason: "enospc",
      });
      await simulate(r, "vm", { kind: "paused", reason: "ioerror" });
    },
    state: "paused (I/O error)",
    events: ["io-error-reason", "Suspended I/O Error"],
  },
  {
    name: "GUEST_PANICKED with on_crash preserve",
    setup: async (r) => void await running(r, "vm", { onCrash: "preserve" }),
    trigger: (r) => simulate(r, "vm", { kind: "crashed", detail: "panicked" }),
    state: "crashed (panicked)",
    events: ["Crashed Panicked"],
  },
  {
    name: "GUEST_PANICKED with on_crash destroy (the default)",
    setup: async (r) => void await running(r, "vm"),
    trigger: (r) => simulate(r, "vm", { kind: "crashed", detail: "panicked" }),
    state: "shut off (crashed)",
    events: ["Crashed Panicked", "Stopped Crashed"],
  },
  {
    name: "guest suspends to memory, then wakes up",
    setup: async (r) => void await running(r, "vm"),
    trigger: async (r) => {
      await simulate(r, "vm", { kind: "pmsuspended", detail: "memory" });
      assert.equal(stateText(r.host, "vm"), "pmsuspended (unknown)");
      await simulate(r, "vm", { kind: "wakeup" });
    },
    state: "running (event wakeup)",
    events: ["PMSuspended Memory", "Started Event wakeup"],
  },
  {
    name: "DEVICE_DELETED, BALLOON_CHANGE and RTC_CHANGE leave the state alone",
    setup: async (r) => void await running(r, "vm"),
    trigger: async (r) => {
      await simulate(r, "vm", { kind: "device_removed", alias: "net0" });
      await simulate(r, "vm", { kind: "balloon", actualKiB: 262144 });
      await simulate(r, "vm", { kind: "rtc", utcOffsetSeconds: 3600 });
    },
    state: "running (booted)",
    events: ["device-removed", "balloon-change", "rtc-change"],
  },
  {
    name: "on_poweroff restart starts a new instance after the guest shuts itself down",
    setup: async (r) => void await running(r, "vm", { onPoweroff: "restart" }),
    trigger: (r) => simulate(r, "vm", { kind: "shutdown", detail: "guest" }),
    state: "running (booted)",
    events: ["Shutdown Finished after guest request", "Stopped Shutdown", "Started Booted"],
  },
  {
    name: "shutdown with on_poweroff restart boots the test guest again in place, as libvirt's",
    setup: async (r) => void await running(r, "vm", { onPoweroff: "restart" }),
    trigger: async (r) => {
      await r.host.shutdown("vm");
      await settle(r);
    },
    state: "running (booted)",
    events: ["reboot"],
  },
];

/** Lets the test driver's zero-latency guest reactions (timers) fire, then waits for the jobs. */
async function settle(r: Rig): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 5));
  await r.host.idle();
}

async function simulate(r: Rig, name: string, observation: Observation): Promise<void> {
  r.driver.simulate(r.host.lookup(name).uuid, observation);
  await r.host.idle();
}

for (const row of ROWS) {
  Deno.test(`Host follows reference §3: ${row.name}`, async () => {
    const r = await rig();
    try {
      await row.setup(r);
      const position = r.store.headPosition();
      await row.trigger(r);
      assert.deepEqual(await eventsAfter(r.store, position), row.events);
      assert.equal(stateText(r.host, row.domain ?? "vm"), row.state);
    } finally {
      await r.host.close();
    }
  });
}

Deno.test("Host.destroy of a transient domain makes it vanish", async () => {
  const r = await rig();
  try {
    await r.host.create(testDefinition("vm"));
    await r.host.destroy("vm");
    assert.throws(() => r.host.lookup("vm"), (error) => isVirtError(error, 42));
    assert.deepEqual(await loggedEvents(r.store), ["Started Booted", "Stopped Destroyed"]);
  } finally {
    await r.host.close();
  }
});

Deno.test("Host.undefine of a running domain, then stop, makes it vanish", async () => {
  const r = await rig();
  try {
    await running(r, "vm");
    await r.host.undefine("vm");
    assert.equal(r.host.lookup("vm").persistent, false);
    await r.host.destroy("vm");
    assert.equal(r.host.list().length, 0);
  } finally {
    await r.host.close();
  }
});

Deno.test("Host.define refuses a name taken by another uuid with code 9 and appends nothing", async () => {
  const r = await rig();
  try {
    await defined(r, "vm");
    const head = r.store.headPosition();
    await assert.rejects(
      () => r.host.define(testDefinition("vm")),
      (error) =>
        isVirtError(error, 9) && /domain 'vm' already exists with uuid/.test(error.message),
    );
    assert.equal(r.store.headPosition(), head);
  } finally {
    await r.host.close();
  }
});

Deno.test("Host.define refuses a uuid taken by another name with code 9", async () => {
  const r = await rig();
  try {
    const first = await defined(r, "vm");
    await assert.rejects(
      () => r.host.define(testDefinition("other", { uuid: first.uuid })),
      (error) => isVirtError(error, 9) && /already defined with uuid/.test(error.message),
    );
    assert.equal(r.host.list().length, 1);
  } finally {
    await r.host.close();
  }
});

const INVALID: [string, (r: Rig) => Promise<unknown>, number, string, boolean][] = [
  // The test hypervisor answers these as libvirt's test driver: internal errors naming the domain.
  [
    "suspend of a shut off domain",
    (r) => r.host.suspend("vm"),
    1,
    "domain 'vm' not running",
    false,
  ],
  ["resume of a shut off domain", (r) => r.host.resume("vm"), 1, "domain 'vm' not paused", false],
  ["resume of a running domain", (r) => r.host.resume("vm"), 1, "domain 'vm' not paused", true],
  [
    "shutdown of a shut off domain",
    (r) => r.host.shutdown("vm"),
    1,
    "domain 'vm' not running",
    false,
  ],
  ["destroy of a shut off domain", (r) => r.host.destroy("vm"), 55, "domain is not running", false],
  ["reboot of a shut off domain", (r) => r.host.reboot("vm"), 55, "domain is not running", false],
  ["reset of a shut off domain", (r) => r.host.reset("vm"), 55, "domain is not running", false],
  ["start of a running domain", (r) => r.host.start("vm"), 55, "domain is already running", true],
  [
    "lookup of an unknown name",
    (r) => r.host.start("nope"),
    42,
    "no domain with matching name 'nope'",
    false,
  ],
];

for (const [name, call, code, message, startFirst] of INVALID) {
  Deno.test(`Host refuses ${name} with code ${code} and appends nothing`, async () => {
    const r = await rig();
    try {
      await defined(r, "vm");
      if (startFirst) await r.host.start("vm");
      const head = r.store.headPosition();
      await assert.rejects(
        () => call(r),
        (error) => isVirtError(error, code) && error.message === message,
      );
      assert.equal(r.store.headPosition(), head);
    } finally {
      await r.host.close();
    }
  });
}

Deno.test("Host answers 'busy with <job> since <time>' (code 87) when the queue deadline passes", async () => {
  const r = await rig({ launchMs: 300 });
  try {
    await defined(r, "vm");
    const starting = r.host.start("vm");
    await new Promise((resolve) => setTimeout(resolve, 20));
    const head = r.store.headPosition();
    await assert.rejects(
      () => r.host.suspend("vm", { queueTimeoutMs: 50 }),
      (error) =>
        isVirtError(error, 87) &&
        /^domain 'vm' is busy with start since \d{4}-\d\d-\d\dT/.test(error.message),
    );
    await starting;
    // The refused command never ran: the domain is running, not paused.
    assert.equal(stateText(r.host, "vm"), "running (booted)");
    assert.deepEqual(await loggedEvents(r.store, head), ["Started Booted"]);
  } finally {
    await r.host.close();
  }
});

Deno.test("Host never blocks one domain behind another's job", async () => {
  const r = await rig({ launchMs: 300 });
  try {
    await defined(r, "slow");
    await defined(r, "fast");
    const slow = r.host.start("slow");
    await new Promise((resolve) => setTimeout(resolve, 10));
    await r.host.setAutostart("fast", true, { queueTimeoutMs: 50 });
    assert.equal(r.host.lookup("fast").autostart, true);
    await slow;
  } finally {
    await r.host.close();
  }
});

Deno.test("Host.shutdown with a timeout destroys a guest that ignores it", async () => {
  const r = await rig({ guestShutdownMs: 60_000 });
  try {
    await running(r, "vm");
    const head = r.store.headPosition();
    await r.host.shutdown("vm", { timeoutMs: 50 });
    await r.host.waitFor(r.host.lookup("vm").uuid, (summary) => !summary.active, 2000);
    await r.host.idle();
    assert.equal(stateText(r.host, "vm"), "shut off (destroyed)");
    assert.deepEqual(await loggedEvents(r.store, head), ["Stopped Destroyed"]);
  } finally {
    await r.host.close();
  }
});

Deno.test("Host.list applies libvirt's filters and sorts active by id", async () => {
  const r = await rig();
  try {
    await defined(r, "b-off");
    await running(r, "z-run");
    await running(r, "a-paused");
    await r.host.suspend("a-paused");
    await r.host.create(testDefinition("t-transient"));
    await r.host.setAutostart("b-off", true);
    const names = (filter: Parameters<Host["list"]>[0]) =>
      r.host.list(filter).map((summary) => summary.name);
    assert.deepEqual(names({}), ["z-run", "a-paused", "t-transient", "b-off"]);
    assert.deepEqual(names({ inactive: true }), ["b-off"]);
    assert.deepEqual(names({ active: true }), ["z-run", "a-paused", "t-transient"]);
    assert.deepEqual(names({ transient: true }), ["t-transient"]);
    assert.deepEqual(names({ persistent: true }), ["z-run", "a-paused", "b-off"]);
    assert.deepEqual(names({ running: true }), ["z-run", "t-transient"]);
    assert.deepEqual(names({ paused: true }), ["a-paused"]);
    assert.deepEqual(names({ shutoff: true }), ["b-off"]);
    assert.deepEqual(names({ autostart: true }), ["b-off"]);
    assert.deepEqual(names({ running: true, paused: true }), ["z-run", "a-paused", "t-transient"]);
  } finally {
    await r.host.close();
  }
});

Deno.test("Host.lookup finds a domain by name, uuid (any case, with or without dashes) and id", async () => {
  const r = await rig();
  try {
    const definition = await running(r, "vm");
    const uuid = definition.uuid!;
    const id = r.host.lookup("vm").id!;
    assert.equal(r.host.lookup(uuid).name, "vm");
    assert.equal(r.host.lookup(uuid.toUpperCase().replaceAll("-", "")).name, "vm");
    assert.equal(r.host.lookup(String(id)).name, "vm");
    assert.throws(() => r.host.lookup("999"), (error) => isVirtError(error, 42));
  } finally {
    await r.host.close();
  }
});

Deno.test("Host keeps ids across a restart and continues at the highest id + 1", async () => {
  const store = createMemoryStore();
  const first = await Host.open({ store, drivers: [new TestDriver()], log: () => {} });
  await first.define(testDefinition("a"));
  await first.define(testDefinition("b"));
  await first.start("a");
  await first.start("b");
  await first.destroy("a");
  const idOfB = first.lookup("b").id;
  await first.close();
  const second = await Host.open({ store, drivers: [new TestDriver()], log: () => {} });
  try {
    assert.equal(second.lookup("b").id, idOfB);
    assert.equal(stateText(second, "b"), "running (booted)");
    assert.equal(stateText(second, "a"), "shut off (destroyed)");
    await second.start("a");
    assert.equal(second.lookup("a").id, idOfB! + 1);
  } finally {
    await second.close();
  }
});

Deno.test("Host recovers the same state with and without snapshots", async () => {
  const store = createMemoryStore();
  const first = await Host.open({
    store,
    drivers: [new TestDriver()],
    snapshotEveryFacts: 5,
    log: () => {},
  });
  for (let index = 0; index < 6; index++) {
    await first.define(testDefinition(`vm${index}`));
    if (index % 2 === 0) await first.start(`vm${index}`);
  }
  await first.suspend("vm2");
  await first.close();
  assert.ok(await store.loadSnapshot());
  const fromSnapshot = await Host.open({ store, drivers: [new TestDriver()], log: () => {} });
  const withSnapshot = fromSnapshot.list();
  await fromSnapshot.close();
  await store.deleteSnapshots();
  const fromZero = await Host.open({ store, drivers: [new TestDriver()], log: () => {} });
  try {
    assert.deepEqual(fromZero.list(), withSnapshot);
    assert.equal(stateText(fromZero, "vm2"), "paused (user)");
  } finally {
    await fromZero.close();
  }
});

Deno.test("Host keeps a large definition compact, the same after a restart from its snapshot", async () => {
  const store = createMemoryStore();
  const large = { ...testDefinition("big"), description: "words ".repeat(200_000) };
  const first = await Host.open({ store, drivers: [new TestDriver()], log: () => {} });
  await first.define(large);
  await first.start("big");
  assert.ok(isCompactDefinition(first.context("big").definition!));
  const xml = formatDomainXml(first.context("big").live!);
  await first.close();
  assert.ok(await store.loadSnapshot());
  const second = await Host.open({ store, drivers: [new TestDriver()], log: () => {} });
  try {
    const { definition, live } = second.context("big");
    assert.ok(isCompactDefinition(definition!));
    assert.equal(definition!.description, large.description);
    assert.equal(formatDomainXml(live!), xml);
    assert.equal(stateText(second, "big"), "running (booted)");
  } finally {
    await second.close();
  }
});

Deno.test("Host re-arms a recorded shutdown deadline after a restart", async () => {
  const store = createMemoryStore();
  const slowGuest = { guestShutdownMs: 60_000 };
  const first = await Host.open({
    store,
    drivers: [new TestDriver({ latencies: slowGuest })],
    log: () => {},
  });
  await first.define(testDefinition("vm"));
  await first.start("vm");
  await first.shutdown("vm", { timeoutMs: 100 });
  await first.close();
  const second = await Host.open({
    store,
    drivers: [new TestDriver({ latencies: slowGuest })],
    log: () => {},
  });
  try {
    await second.waitFor(second.lookup("vm").uuid, (summary) => !summary.active, 3000);
    await second.idle();
    assert.equal(stateText(second, "vm"), "shut off (destroyed)");
  } finally {
    await second.close();
  }
});

Deno.test("Host autostarts shut off autostart domains when asked", async () => {
  const store = createMemoryStore();
  const first = await Host.open({ store, drivers: [new TestDriver()], log: () => {} });
  await first.define(testDefinition("auto"));
  await first.define(testDefinition("manual"));
  await first.setAutostart("auto", true);
  await first.close();
  const second = await Host.open({
    store,
    drivers: [new TestDriver()],
    autostart: true,
    log: () => {},
  });
  try {
    assert.equal(stateText(second, "auto"), "running (booted)");
    assert.equal(stateText(second, "manual"), "shut off (unknown)");
  } finally {
    await second.close();
  }
});

Deno.test("Host marks a transient test domain autostarted; its undefine changes nothing", async () => {
  const r = await rig();
  try {
    await r.host.create(testDefinition("vm"));
    // As libvirt's test driver (its QEMU driver refuses both with code 55).
    await r.host.setAutostart("vm", true);
    assert.equal(r.host.lookup("vm").autostart, true);
    // libvirt's test driver undefines a transient domain without complaint, and nothing changes.
    const head = r.store.headPosition();
    await r.host.undefine("vm");
    assert.equal(r.store.headPosition(), head);
  } finally {
    await r.host.close();
  }
});

Deno.test("Host.setMetadata changes the title of the right definitions", async () => {
  const r = await rig();
  try {
    await running(r, "vm");
    const head = r.store.headPosition();
    await r.host.setMetadata("vm", { kind: "title", value: "web" }, { config: true });
    assert.equal(r.host.context("vm").definition?.title, "web");
    assert.equal(r.host.context("vm").live?.title, undefined);
    await r.host.setMetadata("vm", { kind: "description", value: "d" }, {});
    assert.equal(r.host.context("vm").live?.description, "d");
    assert.deepEqual(await loggedEvents(r.store, head), ["metadata-change", "metadata-change"]);
  } finally {
    await r.host.close();
  }
});

Deno.test("Host refuses a domain type no driver runs with code 67", async () => {
  const r = await rig();
  try {
    await assert.rejects(
      () => r.host.define(testDefinition("vm", { type: "xen" })),
      (error) => isVirtError(error, 67) && error.where === "/domain/@type",
    );
    assert.equal(r.store.headPosition(), 0);
  } finally {
    await r.host.close();
  }
});

Deno.test("Host records a launch's definition only when it differs from the persistent one", async () => {
  const r = await rig();
  try {
    await running(r, "persistent");
    await r.host.create(testDefinition("transient"));
    const launched = (await r.store.readAll({ afterPosition: 0 }))
      .filter((fact) => fact.type === "domain.launched")
      .map((fact) => (fact.body as { definition: unknown }).definition);
    assert.equal(launched[0], null);
    assert.equal((launched[1] as { name: string }).name, "transient");
    assert.equal(r.host.context("persistent").live?.name, "persistent");
  } finally {
    await r.host.close();
  }
});
