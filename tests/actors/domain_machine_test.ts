/**
 * The domain machine as a transition table, tested directly (no host, no driver): every row of
 * reference §3 (trigger → state (reason) → libvirt events) through the lifecycle table, every
 * command's validity in every state, and replay of the log = the live fold.
 *
 * Over 400 lines on purpose: the rows are data, read as one table beside reference §3.
 */

import assert from "node:assert/strict";
import { initialTransition, transition } from "xstate";
import { DomainActor } from "../../actors/domain_actor.ts";
import {
  accepts,
  applyFact,
  type DomainCommandName,
  domainMachine,
  type DomainSnapshot,
  stateOf,
  statePath,
} from "../../actors/domain_machine.ts";
import { createMemoryStore } from "../../src/log/memory_store.ts";
import type { DomainFact } from "../../src/model/facts.ts";
import { DomainState, lifecycleName } from "../../src/model/lifecycle.ts";
import {
  factOfObservation,
  libvirtEventOf,
  OBSERVATION_FACTS,
  stateAfter,
} from "../../src/model/lifecycle_table.ts";
import type { Observation } from "../../src/model/observation.ts";
import { testDefinition, testUuid } from "../support/domains.ts";

const UUID = "00000000-0000-4000-8000-00000000abcd";
const DEFINITION = testDefinition("vm", { uuid: UUID });

function blank(): DomainSnapshot {
  const [snapshot] = initialTransition(domainMachine, { uuid: UUID });
  return snapshot as DomainSnapshot;
}

function fold(facts: DomainFact[], from: DomainSnapshot = blank()): DomainSnapshot {
  return facts.reduce(applyFact, from);
}

/** The libvirt events of facts, as `virsh event` names them (`Started Booted`, `reboot`). */
function eventsOf(facts: DomainFact[]): string[] {
  const names: string[] = [];
  for (const fact of facts) {
    const event = libvirtEventOf(fact);
    if (event === undefined) continue;
    names.push(
      event.lifecycle === undefined
        ? event.event
        : lifecycleName(event.lifecycle.type, event.lifecycle.detail),
    );
  }
  return names;
}

/** Facts of the driver's triggers, made by the lifecycle table from observations. */
function observed(snapshot: DomainSnapshot, ...observations: Observation[]): DomainFact[] {
  const facts: DomainFact[] = [];
  let current = snapshot;
  for (const observation of observations) {
    const fact = factOfObservation(observation, {
      shuttingDown: statePath(current) === "active.shuttingDown",
    });
    facts.push(fact);
    current = applyFact(current, fact);
  }
  return facts;
}

const defined: DomainFact = {
  type: "domain.defined",
  body: { definition: DEFINITION, detail: "added" },
};
const launched: DomainFact = {
  type: "domain.launched",
  body: { id: 1, definition: null, persistent: true, runtime: { pid: 42 } },
};
const booted: DomainFact = { type: "domain.started", body: { detail: "booted", reason: "booted" } };
const userPaused: DomainFact = {
  type: "domain.suspended",
  body: { detail: "paused", reason: "user" },
};
const destroyed: DomainFact = {
  type: "domain.stopped",
  body: { detail: "destroyed", reason: "destroyed" },
};

/** Where each row starts. */
const START: Record<string, DomainFact[]> = {
  nonexistent: [],
  shutoff: [defined],
  running: [defined, launched, booted],
  paused: [defined, launched, booted, userPaused],
};

/** One row of reference §3. */
interface Row {
  trigger: string;
  from: keyof typeof START;
  /** The facts of the trigger, given the snapshot it starts from. */
  facts: (snapshot: DomainSnapshot) => DomainFact[];
  state: number;
  reason: number;
  /** The machine's state, when it says more than the libvirt state (e.g. gone). */
  path?: string;
  events: string[];
}

const SHUTOFF = DomainState.SHUTOFF;
const RUNNING = DomainState.RUNNING;
const PAUSED = DomainState.PAUSED;

/** Reference §3, row by row, as evirt records each trigger. */
const REFERENCE_3: Row[] = [
  {
    trigger: "define, new name",
    from: "nonexistent",
    facts: () => [defined],
    state: SHUTOFF,
    reason: 0,
    events: ["Defined Added"],
  },
  {
    trigger: "define, existing name and same uuid",
    from: "running",
    facts: () => [{ type: "domain.defined", body: { definition: DEFINITION, detail: "updated" } }],
    state: RUNNING,
    reason: 1,
    events: ["Defined Updated"],
  },
  {
    trigger: "undefine of an inactive domain",
    from: "shutoff",
    facts: () => [{ type: "domain.undefined", body: {} }],
    state: SHUTOFF,
    reason: 0,
    path: "nonexistent",
    events: ["Undefined Removed"],
  },
  {
    trigger: "undefine of a running domain: stays running as transient",
    from: "running",
    facts: () => [{ type: "domain.undefined", body: {} }],
    state: RUNNING,
    reason: 1,
    events: ["Undefined Removed"],
  },
  {
    trigger: "… the transient domain vanishes when it stops",
    from: "running",
    facts: () => [{ type: "domain.undefined", body: {} }, destroyed],
    state: SHUTOFF,
    reason: 2,
    path: "nonexistent",
    events: ["Undefined Removed", "Stopped Destroyed"],
  },
  {
    trigger: "start: QEMU spawned with -S, QMP negotiated",
    from: "shutoff",
    facts: () => [launched],
    state: PAUSED,
    reason: 11,
    events: [],
  },
  {
    trigger: "start finished (cont)",
    from: "shutoff",
    facts: () => [launched, booted],
    state: RUNNING,
    reason: 1,
    events: ["Started Booted"],
  },
  {
    trigger: "start with START_PAUSED",
    from: "shutoff",
    facts: () => [launched, booted, userPaused],
    state: PAUSED,
    reason: 1,
    events: ["Started Booted", "Suspended Paused"],
  },
  {
    trigger: "create from XML (transient)",
    from: "nonexistent",
    facts: () => [{
      type: "domain.launched",
      body: { id: 1, definition: DEFINITION, persistent: false, runtime: {} },
    }, booted],
    state: RUNNING,
    reason: 1,
    events: ["Started Booted"],
  },
  {
    trigger: "suspend → stop → QMP STOP",
    from: "running",
    facts: () => [userPaused],
    state: PAUSED,
    reason: 1,
    events: ["Suspended Paused"],
  },
  {
    trigger: "resume → cont → QMP RESUME",
    from: "paused",
    facts: (snapshot) => observed(snapshot, { kind: "resumed" }),
    state: RUNNING,
    reason: 5,
    events: ["Resumed Unpaused"],
  },
  ...(["guest", "host", "finished"] as const).map((detail): Row => ({
    trigger: `QMP SHUTDOWN (${detail})`,
    from: "running",
    facts: (snapshot) => observed(snapshot, { kind: "shutdown", detail }),
    state: DomainState.SHUTDOWN,
    reason: 0,
    events: [
      `Shutdown ${
        detail === "guest"
          ? "Finished after guest request"
          : detail === "host"
          ? "Finished after host request"
          : "Finished"
      }`,
    ],
  })),
  {
    trigger: "… then the driver ends QEMU",
    from: "running",
    facts: (snapshot) =>
      observed(snapshot, { kind: "shutdown", detail: "guest" }, {
        kind: "stopped",
        reason: "crashed",
      }),
    state: SHUTOFF,
    reason: 1,
    events: ["Shutdown Finished after guest request", "Stopped Shutdown"],
  },
  {
    trigger: "QEMU exits when no shutdown was under way",
    from: "running",
    facts: (snapshot) => observed(snapshot, { kind: "stopped", reason: "crashed" }),
    state: SHUTOFF,
    reason: 3,
    events: ["Stopped Failed"],
  },
  {
    trigger: "destroy",
    from: "running",
    facts: () => [destroyed],
    state: SHUTOFF,
    reason: 2,
    events: ["Stopped Destroyed"],
  },
  {
    trigger: "reboot (fake reboot): stays running",
    from: "running",
    facts: (snapshot) => observed(snapshot, { kind: "reset" }),
    state: RUNNING,
    reason: 1,
    events: ["reboot"],
  },
  {
    trigger: "reset: unchanged",
    from: "paused",
    facts: (snapshot) => observed(snapshot, { kind: "reset" }),
    state: PAUSED,
    reason: 1,
    events: ["reboot"],
  },
  {
    trigger: "save / managed save",
    from: "running",
    facts: () => [{ type: "domain.stopped", body: { detail: "saved", reason: "saved" } }],
    state: SHUTOFF,
    reason: 5,
    events: ["Stopped Saved"],
  },
  {
    trigger: "restore / start with a managed save image",
    from: "shutoff",
    facts: () => [launched, {
      type: "domain.started",
      body: { detail: "restored", reason: "restored" },
    }],
    state: RUNNING,
    reason: 3,
    events: ["Started Restored"],
  },
  {
    trigger: "watchdog with action pause",
    from: "running",
    facts: (snapshot) =>
      observed(snapshot, { kind: "watchdog", action: "pause" }, {
        kind: "paused",
        reason: "watchdog",
      }),
    state: PAUSED,
    reason: 6,
    events: ["watchdog", "Suspended Watchdog"],
  },
  {
    trigger: "BLOCK_IO_ERROR with action stop",
    from: "running",
    facts: (snapshot) =>
      observed(snapshot, {
        kind: "io_error",
        srcPath: "/images/a.raw",
        devAlias: "virtio-disk0",
        action: "pause",
        reason: "No space left on device",
      }, { kind: "paused", reason: "ioerror" }),
    state: PAUSED,
    reason: 5,
    events: ["io-error-reason", "Suspended I/O Error"],
  },
  {
    trigger: "GUEST_PANICKED",
    from: "running",
    facts: (snapshot) => observed(snapshot, { kind: "crashed", detail: "panicked" }),
    state: DomainState.CRASHED,
    reason: 1,
    events: ["Crashed Panicked"],
  },
  ...(["memory", "disk"] as const).map((detail): Row => ({
    trigger: `QMP SUSPEND${detail === "disk" ? "_DISK" : ""}`,
    from: "running",
    facts: (snapshot) => observed(snapshot, { kind: "pmsuspended", detail }),
    state: DomainState.PMSUSPENDED,
    reason: 0,
    events: [`PMSuspended ${detail === "memory" ? "Memory" : "Disk"}`],
  })),
  {
    trigger: "QMP WAKEUP",
    from: "running",
    facts: (snapshot) =>
      observed(snapshot, { kind: "pmsuspended", detail: "memory" }, { kind: "wakeup" }),
    state: RUNNING,
    reason: 8,
    events: ["PMSuspended Memory", "Started Event wakeup"],
  },
  {
    trigger: "QMP DEVICE_DELETED, BALLOON_CHANGE, RTC_CHANGE: unchanged",
    from: "running",
    facts: (snapshot) =>
      observed(
        snapshot,
        { kind: "device_removed", alias: "net0" },
        { kind: "balloon", actualKiB: 262144 },
        { kind: "rtc", utcOffsetSeconds: 3600 },
      ),
    state: RUNNING,
    reason: 1,
    events: ["device-removed", "balloon-change", "rtc-change"],
  },
];

for (const row of REFERENCE_3) {
  Deno.test(`domain machine, reference §3: ${row.trigger}`, () => {
    const before = fold(START[row.from]);
    const facts = row.facts(before);
    const after = fold(facts, before);
    assert.deepEqual(stateOf(after), { state: row.state, reason: row.reason });
    if (row.path !== undefined) assert.equal(statePath(after), row.path);
    assert.deepEqual(eventsOf(facts), row.events);
  });
}

Deno.test("domain machine: every state-changing fact lands where the lifecycle table says", () => {
  for (const row of REFERENCE_3) {
    let snapshot = fold(START[row.from]);
    for (const fact of row.facts(snapshot)) {
      snapshot = applyFact(snapshot, fact);
      const expected = stateAfter(fact);
      // A transient domain that stops leaves the machine; libvirt still reports it shut off.
      if (expected !== undefined) assert.deepEqual(stateOf(snapshot), expected, fact.type);
    }
  }
});

Deno.test("lifecycle table: every observation kind has a fact the machine accepts somewhere", () => {
  const running = fold(START.running);
  const kinds = Object.keys(OBSERVATION_FACTS) as Observation["kind"][];
  const samples: Record<Observation["kind"], Observation> = {
    shutdown: { kind: "shutdown", detail: "guest" },
    stopped: { kind: "stopped", reason: "crashed" },
    paused: { kind: "paused", reason: "user" },
    resumed: { kind: "resumed" },
    reset: { kind: "reset" },
    crashed: { kind: "crashed", detail: "panicked" },
    pmsuspended: { kind: "pmsuspended", detail: "memory" },
    wakeup: { kind: "wakeup" },
    balloon: { kind: "balloon", actualKiB: 1 },
    rtc: { kind: "rtc", utcOffsetSeconds: 1 },
    watchdog: { kind: "watchdog", action: "none" },
    io_error: { kind: "io_error", srcPath: "", devAlias: "", action: "none", reason: "" },
    device_removed: { kind: "device_removed", alias: "x" },
    block_job: { kind: "block_job", disk: "vda", status: "completed" },
  };
  assert.deepEqual(kinds.toSorted(), Object.keys(samples).toSorted());
  const pmsuspended = fold([{ type: "domain.pmsuspended", body: { detail: "memory" } }], running);
  const layer = { type: "file" as const, path: "/i/a.qcow2", format: "qcow2", index: 0 };
  const copying = fold([{
    type: "domain.block_job_starting",
    body: {
      disk: "vda",
      type: "copy",
      path: layer.path,
      result: { top: layer, backing: [] },
      bandwidthBytes: "0",
    },
  }], running);
  for (const kind of kinds) {
    const fact = factOfObservation(samples[kind], {
      shuttingDown: false,
      blockJobs: copying.context.blockJobs,
    });
    const paused = fold([userPaused], running);
    const where = kind === "wakeup"
      ? pmsuspended
      : kind === "resumed"
      ? paused
      : kind === "block_job"
      ? copying
      : running;
    assert.ok(accepts(where, fact), `${kind} → ${fact.type}`);
  }
});

Deno.test("lifecycle table: a paused observation while migrating is SUSPENDED Migrated", () => {
  const [fact] = observed(fold(START.running), { kind: "paused", reason: "migration" });
  assert.deepEqual(eventsOf([fact]), ["Suspended Migrated"]);
  assert.deepEqual(stateAfter(fact), { state: PAUSED, reason: 2 });
});

// ---------------------------------------------------------------------------------------------
// Every command's validity in every state

const COMMANDS: DomainCommandName[] = [
  "define",
  "undefine",
  "start",
  "shutdown",
  "destroy",
  "reboot",
  "reset",
  "suspend",
  "resume",
  "autostart",
  "metadata",
];

/** The facts that reach each machine state. */
const STATES: Record<string, DomainFact[]> = {
  "nonexistent": [],
  "shutoff": [defined],
  "active.starting": [defined, launched],
  "active.running": [defined, launched, booted],
  "active.paused": [defined, launched, booted, userPaused],
  "active.shuttingDown": [defined, launched, booted, {
    type: "domain.shutdown",
    body: { detail: "guest" },
  }],
  "active.crashed": [defined, launched, booted, {
    type: "domain.crashed",
    body: { detail: "panicked" },
  }],
  "active.pmsuspended": [defined, launched, booted, {
    type: "domain.pmsuspended",
    body: { detail: "memory" },
  }],
};

/** The commands valid in each state: the rest are refused (OPERATION_INVALID). */
const VALID: Record<string, DomainCommandName[]> = {
  "nonexistent": ["define"],
  "shutoff": ["define", "undefine", "start", "autostart", "metadata"],
  "active.starting": ["define", "undefine", "destroy", "autostart", "metadata"],
  "active.running": [
    "define",
    "undefine",
    "destroy",
    "autostart",
    "metadata",
    "shutdown",
    "reboot",
    "reset",
    "suspend",
    "resume",
  ],
  "active.paused": [
    "define",
    "undefine",
    "destroy",
    "autostart",
    "metadata",
    "reboot",
    "reset",
    "suspend",
    "resume",
  ],
  "active.shuttingDown": ["define", "undefine", "destroy", "autostart", "metadata", "reset"],
  "active.crashed": [
    "define",
    "undefine",
    "destroy",
    "autostart",
    "metadata",
    "reset",
    "resume",
  ],
  "active.pmsuspended": ["define", "undefine", "destroy", "autostart", "metadata", "reset"],
};

for (const [path, facts] of Object.entries(STATES)) {
  Deno.test(`domain machine: command validity in ${path}`, () => {
    const snapshot = fold(facts);
    assert.equal(statePath(snapshot), path);
    const valid = COMMANDS.filter((name) => accepts(snapshot, { type: `command.${name}` }));
    assert.deepEqual(valid.toSorted(), VALID[path].toSorted());
  });
}

Deno.test("domain machine: a command event never moves the machine", () => {
  for (const facts of Object.values(STATES)) {
    const snapshot = fold(facts);
    for (const name of COMMANDS) {
      const [next] = transition(domainMachine, snapshot, { type: `command.${name}` });
      assert.equal(statePath(next), statePath(snapshot));
      assert.deepEqual(next.context, snapshot.context);
    }
  }
});

Deno.test("domain machine: a fact that does not apply is refused, not folded", () => {
  assert.throws(() => fold([booted]), /does not apply/);
  assert.throws(() => fold([defined, userPaused]), /does not apply/);
  assert.throws(() => fold([...STATES["active.running"], launched]), /does not apply/);
});

// ---------------------------------------------------------------------------------------------
// Replay = live fold

/** A seeded sequence of valid facts (a small linear congruential generator: reproducible). */
function lifeOf(length: number, seed: number): DomainFact[] {
  let state = seed;
  const next = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  const candidates: DomainFact[] = [
    defined,
    { type: "domain.defined", body: { definition: DEFINITION, detail: "updated" } },
    launched,
    booted,
    userPaused,
    { type: "domain.resumed", body: { detail: "unpaused", reason: "unpaused" } },
    { type: "domain.shutdown", body: { detail: "guest" } },
    { type: "domain.stopped", body: { detail: "shutdown", reason: "shutdown" } },
    destroyed,
    { type: "domain.crashed", body: { detail: "panicked" } },
    { type: "domain.pmsuspended", body: { detail: "disk" } },
    { type: "domain.started", body: { detail: "wakeup", reason: "wakeup" } },
    { type: "domain.rebooted", body: {} },
    { type: "domain.autostart_changed", body: { autostart: true } },
    {
      type: "domain.metadata_changed",
      body: { kind: "title", value: "t", live: false, config: true },
    },
    { type: "domain.deadline_set", body: { job: "shutdown", action: "destroy", atMs: 5 } },
    { type: "domain.balloon_changed", body: { actualKiB: 1024 } },
    { type: "domain.undefined", body: {} },
  ];
  const facts: DomainFact[] = [];
  let snapshot = blank();
  for (let attempt = 0; facts.length < length && attempt < length * 100; attempt++) {
    let fact = candidates[Math.floor(next() * candidates.length)];
    if (fact === launched && statePath(snapshot) === "nonexistent") {
      // Nothing defined: only a transient create, which brings its definition.
      fact = {
        type: "domain.launched",
        body: { id: 1, definition: DEFINITION, persistent: false, runtime: {} },
      };
    }
    if (!accepts(snapshot, fact)) continue;
    facts.push(fact);
    snapshot = applyFact(snapshot, fact);
  }
  assert.equal(facts.length, length, "the generator found enough valid facts");
  return facts;
}

Deno.test("domain machine: replaying the log gives the snapshot the live fold gave", async () => {
  for (const seed of [1, 7, 42]) {
    const store = createMemoryStore();
    const uuid = testUuid();
    const live = new DomainActor({
      uuid,
      store,
      snapshot: blank(),
      version: 0,
      onApplied: () => {},
    });
    // Live: each fact appended by a job, in batches as commands do.
    const facts = lifeOf(60, seed);
    for (let index = 0; index < facts.length; index += 3) {
      const batch = facts.slice(index, index + 3);
      await live.run("life", {}, (job) => job.append(batch));
    }
    // Replay: a fresh actor folds what the log holds.
    const replayed = new DomainActor({
      uuid,
      store,
      snapshot: blank(),
      version: 0,
      onApplied: () => {},
    });
    for (const fact of await store.readStream(`domain/${uuid}`)) {
      replayed.replay({ type: fact.type, body: fact.body } as DomainFact, fact.version);
    }
    assert.equal(replayed.version, live.version);
    assert.equal(statePath(replayed.snapshot), statePath(live.snapshot), `seed ${seed}`);
    assert.deepEqual(replayed.snapshot.context, live.snapshot.context, `seed ${seed}`);
    // And the pure fold of the same facts agrees with both.
    assert.deepEqual(fold(facts).context, live.snapshot.context);
    // A snapshot restored from its persisted value and context is the same state again.
    const restored = domainMachine.resolveState({
      value: live.snapshot.value,
      context: live.snapshot.context,
    });
    assert.deepEqual(stateOf(restored as DomainSnapshot), stateOf(live.snapshot));
    live.close();
    replayed.close();
    await store.close();
  }
});

Deno.test("domain machine: a reset that ends a reboot boots the guest, even a paused one", () => {
  const resumed: DomainFact = {
    type: "domain.resumed",
    body: { detail: "unpaused", reason: "unpaused" },
  };
  for (const from of [[...START.running, userPaused, resumed], START.paused]) {
    const start = fold(from);
    const facts = observed(start, { kind: "reset", booted: true });
    const after = fold(facts, start);
    assert.equal(statePath(after), "active.running");
    assert.deepEqual(stateOf(after), { state: RUNNING, reason: 1 });
    assert.deepEqual(eventsOf(facts), ["reboot"]);
  }
  // A plain reset leaves the state and its reason as they are.
  const paused = fold(START.paused);
  const reset = fold(observed(paused, { kind: "reset" }), paused);
  assert.deepEqual(stateOf(reset), { state: PAUSED, reason: 1 });
});

Deno.test("domain machine: a block job's end that was not carried out restores its phase", () => {
  const layer = { type: "file" as const, path: "/i/a.qcow2", format: "qcow2", index: 0 };
  const copy = { type: "file" as const, path: "/i/b.qcow2", format: "qcow2", index: 5 };
  let snapshot = fold([{
    type: "domain.block_job_starting",
    body: {
      disk: "vda",
      type: "copy",
      path: layer.path,
      result: { top: copy, backing: [] },
      bandwidthBytes: "0",
    },
  }], fold(START.running));
  snapshot = fold([
    { type: "domain.block_job_started", body: { disk: "vda" } },
    { type: "domain.block_job_ready", body: { disk: "vda", type: "copy", path: layer.path } },
    { type: "domain.block_job_ending", body: { disk: "vda", pivot: true } },
  ], snapshot);
  assert.equal(snapshot.context.blockJobs?.vda?.phase, "ending");
  const restored = fold([{ type: "domain.block_job_started", body: { disk: "vda" } }], snapshot);
  assert.equal(restored.context.blockJobs?.vda?.phase, "ready");
  const ended = fold([{
    type: "domain.block_job_ended",
    body: { disk: "vda", type: "copy", path: layer.path, status: "completed" },
  }], snapshot);
  assert.equal(ended.context.blockJobs?.vda, undefined);
  assert.deepEqual(
    accepts(ended, {
      type: "domain.block_job_ready",
      body: { disk: "vda", type: "copy", path: "" },
    }),
    false,
    "no fact of a job the domain does not run",
  );
});

Deno.test("a live migration's facts: libvirt's events and states on both sides, its intent outlives launch and end", () => {
  const incoming: DomainFact = {
    type: "domain.migrating",
    body: { migration: "m1", direction: "in", host: "east", port: 49152 },
  };
  const startedMigrated: DomainFact = {
    type: "domain.started",
    body: { detail: "migrated", reason: "migrated" },
  };
  const resumedMigrated: DomainFact = {
    type: "domain.resumed",
    body: { detail: "migrated", reason: "migrated" },
  };
  const ended: DomainFact = {
    type: "domain.migration_ended",
    body: { migration: "m1", outcome: "completed" },
  };
  // Destination: the intent before the launch, paused (migration) until the guest runs here.
  let destination = fold([defined, incoming, launched, startedMigrated]);
  assert.equal(statePath(destination), "active.paused");
  assert.deepEqual(stateOf(destination), { state: DomainState.PAUSED, reason: 2 });
  assert.deepEqual(destination.context.migration, incoming.body);
  destination = fold([resumedMigrated, ended], destination);
  assert.deepEqual(stateOf(destination), { state: DomainState.RUNNING, reason: 2 });
  assert.equal(destination.context.migration, null);
  assert.deepEqual(eventsOf([startedMigrated, resumedMigrated]), [
    "Started Migrated",
    "Resumed Migrated",
  ]);
  // Source: SUSPENDED/migrated at the switch-over, STOPPED/migrated once the destination runs it.
  const outgoing: DomainFact = {
    type: "domain.migrating",
    body: { migration: "m1", direction: "out", host: "west" },
  };
  const switched: DomainFact = {
    type: "domain.suspended",
    body: { detail: "migrated", reason: "migration" },
  };
  const stopped: DomainFact = {
    type: "domain.stopped",
    body: { detail: "migrated", reason: "migrated" },
  };
  let source = fold([outgoing, switched], fold(START.running));
  assert.deepEqual(stateOf(source), { state: DomainState.PAUSED, reason: 2 });
  assert.deepEqual(source.context.migration, outgoing.body);
  source = fold([ended, stopped], source);
  assert.deepEqual(stateOf(source), { state: DomainState.SHUTOFF, reason: 4 });
  assert.deepEqual(eventsOf([switched, stopped]), ["Suspended Migrated", "Stopped Migrated"]);
  // A cancelled migration: the source runs again, running (migration canceled).
  const canceled = fold([outgoing, switched, {
    type: "domain.resumed",
    body: { detail: "migrated", reason: "migration_canceled" },
  }], fold(START.running));
  assert.deepEqual(stateOf(canceled), { state: DomainState.RUNNING, reason: 6 });
});
