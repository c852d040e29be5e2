import assert from "node:assert/strict";
import {
  eventMs,
  EventTranslator,
  RESET_FOLD_MS,
} from "../../../drivers/qemu/event_translation.ts";
import type { QmpEvent } from "../../../drivers/qemu/qmp_protocol.ts";
import type { Observation } from "../../../actors/driver_protocol.ts";

/** An event at `atMs` ms since the epoch. */
function event(name: string, data: Record<string, unknown> = {}, atMs = 1_000_000): QmpEvent {
  return {
    event: name,
    data,
    timestamp: { seconds: Math.floor(atMs / 1000), microseconds: (atMs % 1000) * 1000 },
  };
}

function feed(translator: EventTranslator, events: QmpEvent[]): Observation[] {
  return events.flatMap((each) => translator.translate(each).observations);
}

function running(options: { rebootEndsDomain?: boolean } = {}): EventTranslator {
  return new EventTranslator({
    running: true,
    rebootEndsDomain: options.rebootEndsDomain ?? false,
  });
}

Deno.test("EventTranslator drops the STOP and RESUME echoes of the driver's own stop and cont", () => {
  const translator = new EventTranslator({ running: false, rebootEndsDomain: false });
  translator.ownResume();
  assert.deepEqual(feed(translator, [event("RESUME")]), []);
  translator.ownPause();
  assert.deepEqual(feed(translator, [event("STOP")]), []);
  assert.equal(translator.running, false);
});

Deno.test("EventTranslator reports a STOP it did not cause as paused, reason unknown", () => {
  const translator = running();
  assert.deepEqual(feed(translator, [event("STOP")]), [{ kind: "paused", reason: "unknown" }]);
  assert.deepEqual(feed(translator, [event("RESUME")]), [{ kind: "resumed" }]);
});

Deno.test("EventTranslator undo of an own action restores the run state after a failed command", () => {
  const translator = running();
  const undo = translator.ownPause();
  undo();
  assert.equal(translator.running, true);
  assert.deepEqual(feed(translator, [event("STOP")]), [{ kind: "paused", reason: "unknown" }]);
});

Deno.test("EventTranslator turns BLOCK_IO_ERROR with action stop then STOP into io_error and paused (ioerror)", () => {
  const translator = new EventTranslator({
    running: true,
    rebootEndsDomain: false,
    blockNodes: new Map([["drive0-format", {
      alias: "virtio-disk0",
      sourcePath: "/images/a.qcow2",
    }]]),
  });
  const observations = feed(translator, [
    event("BLOCK_IO_ERROR", {
      device: "",
      "node-name": "drive0-format",
      operation: "write",
      action: "stop",
      reason: "No space left on device",
    }),
    event("STOP"),
  ]);
  assert.deepEqual(observations, [
    {
      kind: "io_error",
      srcPath: "/images/a.qcow2",
      devAlias: "virtio-disk0",
      action: "pause",
      reason: "No space left on device",
    },
    { kind: "paused", reason: "ioerror" },
  ]);
});

Deno.test("EventTranslator maps BLOCK_IO_ERROR actions report and ignore without a pause", () => {
  const translator = running();
  const observations = feed(translator, [
    event("BLOCK_IO_ERROR", {
      device: "drive-x",
      operation: "read",
      action: "report",
      reason: "EIO",
    }),
    event("BLOCK_IO_ERROR", {
      device: "drive-x",
      operation: "read",
      action: "ignore",
      reason: "EIO",
    }),
  ]);
  assert.deepEqual(
    observations.map((each) => each.kind === "io_error" ? [each.action, each.devAlias] : []),
    [["report", "drive-x"], ["none", "drive-x"]],
  );
  assert.equal(translator.running, true);
});

Deno.test("EventTranslator turns a guest SHUTDOWN into shutdown (guest) and drops the STOP after it", () => {
  const translator = running();
  const observations = feed(translator, [
    event("POWERDOWN"),
    event("SHUTDOWN", { guest: true, reason: "guest-shutdown" }),
    event("STOP"),
  ]);
  assert.deepEqual(observations, [{ kind: "shutdown", detail: "guest" }]);
  assert.equal(translator.shutdownSeen, true);
});

Deno.test("EventTranslator gives SHUTDOWN detail host for guest false and finished when absent", () => {
  assert.deepEqual(feed(running(), [event("SHUTDOWN", { guest: false, reason: "host-signal" })]), [
    { kind: "shutdown", detail: "host" },
  ]);
  assert.deepEqual(feed(running(), [event("SHUTDOWN", {})]), [
    { kind: "shutdown", detail: "finished" },
  ]);
});

Deno.test("EventTranslator marks a reset that -no-reboot turned into SHUTDOWN as guestReset", () => {
  assert.deepEqual(feed(running(), [event("SHUTDOWN", { guest: true, reason: "guest-reset" })]), [
    { kind: "shutdown", detail: "guest", guestReset: true },
  ]);
});

Deno.test("EventTranslator asks for a fake reboot on the guest SHUTDOWN after requestFakeReboot", () => {
  const translator = running();
  translator.requestFakeReboot();
  const translation = translator.translate(
    event("SHUTDOWN", { guest: true, reason: "guest-shutdown" }),
  );
  assert.deepEqual(translation, { observations: [], fakeReboot: true });
  // The driver then resets and continues the guest; QEMU's echoes are all dropped.
  translator.ownReset(1_000_010);
  translator.ownResume();
  translator.fakeRebootDone();
  const echoes = feed(translator, [
    event("STOP", {}, 1_000_005),
    event("RESET", { guest: false, reason: "host-qmp-system-reset" }, 1_000_012),
    event("RESET", { guest: true, reason: "guest-reset" }, 1_000_037),
    event("RESUME", {}, 1_000_040),
  ]);
  assert.deepEqual(echoes, []);
  assert.equal(translator.shutdownSeen, false);
  assert.equal(translator.fakeRebootPending, false);
});

Deno.test("EventTranslator reports a fake reboot of a domain whose reboots end it as shutdown with guestReset", () => {
  const translator = running({ rebootEndsDomain: true });
  translator.requestFakeReboot();
  const translation = translator.translate(
    event("SHUTDOWN", { guest: true, reason: "guest-shutdown" }),
  );
  assert.deepEqual(translation, {
    observations: [{ kind: "shutdown", detail: "guest", guestReset: true }],
    fakeReboot: false,
  });
});

Deno.test("EventTranslator folds RESETs less than RESET_FOLD_MS apart into one reset", () => {
  const translator = running();
  const observations = feed(translator, [
    event("RESET", { guest: true, reason: "guest-reset" }, 2_000_000),
    event("RESET", { guest: true, reason: "guest-reset" }, 2_000_025),
    event("RESET", { guest: true, reason: "guest-reset" }, 2_000_025 + RESET_FOLD_MS + 1),
  ]);
  assert.deepEqual(observations, [{ kind: "reset" }, { kind: "reset" }]);
});

Deno.test("EventTranslator drops both RESETs of the driver's own system_reset", () => {
  const translator = running();
  translator.ownReset(3_000_000);
  assert.deepEqual(
    feed(translator, [
      event("RESET", { guest: false, reason: "host-qmp-system-reset" }, 3_000_002),
      event("RESET", { guest: true, reason: "guest-reset" }, 3_000_027),
    ]),
    [],
  );
});

Deno.test("EventTranslator reports GUEST_PANICKED as crashed and drops the STOP or SHUTDOWN that follow", () => {
  const paused = running();
  assert.deepEqual(feed(paused, [event("GUEST_PANICKED", { action: "pause" }), event("STOP")]), [
    { kind: "crashed", detail: "panicked" },
  ]);
  const poweroff = running();
  assert.deepEqual(
    feed(poweroff, [
      event("GUEST_PANICKED", { action: "poweroff" }),
      event("SHUTDOWN", { guest: true, reason: "guest-panic" }),
      event("STOP"),
    ]),
    [{ kind: "crashed", detail: "panicked" }],
  );
});

Deno.test("EventTranslator reports WATCHDOG and a following STOP as paused (watchdog)", () => {
  assert.deepEqual(feed(running(), [event("WATCHDOG", { action: "pause" }), event("STOP")]), [
    { kind: "watchdog", action: "pause" },
    { kind: "paused", reason: "watchdog" },
  ]);
  assert.deepEqual(feed(running(), [event("WATCHDOG", { action: "bogus" })]), [
    { kind: "watchdog", action: "none" },
  ]);
});

Deno.test("EventTranslator maps device, balloon, rtc and power management events", () => {
  const translator = running();
  assert.deepEqual(
    feed(translator, [
      event("DEVICE_DELETED", { device: "net1", path: "/machine/peripheral/net1" }),
      event("DEVICE_DELETED", { path: "/machine/peripheral-anon/device[3]" }),
      event("BALLOON_CHANGE", { actual: 134217728 }),
      event("RTC_CHANGE", { offset: -3600 }),
      event("SUSPEND"),
      event("WAKEUP"),
      event("SUSPEND_DISK"),
    ]),
    [
      { kind: "device_removed", alias: "net1" },
      { kind: "balloon", actualKiB: 131072 },
      { kind: "rtc", utcOffsetSeconds: -3600 },
      { kind: "pmsuspended", detail: "memory" },
      { kind: "wakeup" },
      { kind: "pmsuspended", detail: "disk" },
    ],
  );
});

Deno.test("EventTranslator drops every event once termination began, and undo restores reporting", () => {
  const translator = running();
  const undo = translator.beginTermination();
  assert.deepEqual(
    feed(translator, [event("SHUTDOWN", { guest: false, reason: "host-signal" }), event("STOP")]),
    [],
  );
  undo();
  assert.deepEqual(feed(translator, [event("RTC_CHANGE", { offset: 1 })]), [
    { kind: "rtc", utcOffsetSeconds: 1 },
  ]);
});

Deno.test("EventTranslator ignores unknown events and malformed payloads", () => {
  assert.deepEqual(
    feed(running(), [
      event("NIC_RX_FILTER_CHANGED", { name: "net0" }),
      event("BALLOON_CHANGE", { actual: "lots" }),
      event("RTC_CHANGE", {}),
    ]),
    [],
  );
});

Deno.test("eventMs converts a QMP timestamp to milliseconds", () => {
  assert.equal(
    eventMs({ event: "X", data: {}, timestamp: { seconds: 12, microseconds: 345678 } }),
    12345.678,
  );
});

Deno.test("EventTranslator reports evirt's block job events by disk; a failure keeps QEMU's error", () => {
  const translator = new EventTranslator({ running: true, rebootEndsDomain: false });
  const timestamp = { seconds: 1, microseconds: 0 };
  const job = (event: string, data: Record<string, unknown> = {}) =>
    translator.translate({ event, data: { device: "evirt-blockjob-vdb", ...data }, timestamp })
      .observations;
  assert.deepEqual(job("BLOCK_JOB_READY"), [{ kind: "block_job", disk: "vdb", status: "ready" }]);
  assert.deepEqual(job("BLOCK_JOB_COMPLETED"), [
    { kind: "block_job", disk: "vdb", status: "completed" },
  ]);
  assert.deepEqual(job("BLOCK_JOB_COMPLETED", { error: "Input/output error" }), [
    { kind: "block_job", disk: "vdb", status: "failed", error: "Input/output error" },
  ]);
  assert.deepEqual(job("BLOCK_JOB_CANCELLED"), [
    { kind: "block_job", disk: "vdb", status: "canceled" },
  ]);
  const foreign = translator.translate({
    event: "BLOCK_JOB_COMPLETED",
    data: { device: "drive-virtio-disk0" },
    timestamp,
  });
  assert.deepEqual(foreign.observations, [], "a job started by hand is not evirt's");
});

Deno.test("EventTranslator reports a block job's I/O error by the job's failed end, as libvirt does", () => {
  const translator = new EventTranslator({ running: true, rebootEndsDomain: false });
  const timestamp = { seconds: 1, microseconds: 0 };
  const error = translator.translate({
    event: "BLOCK_JOB_ERROR",
    data: { device: "evirt-blockjob-vda", operation: "write", action: "report" },
    timestamp,
  });
  assert.deepEqual(error, { observations: [], fakeReboot: false }, "no observation of its own");
  const end = translator.translate({
    event: "BLOCK_JOB_COMPLETED",
    data: { device: "evirt-blockjob-vda", error: "No space left on device" },
    timestamp,
  });
  assert.deepEqual(end.observations, [
    { kind: "block_job", disk: "vda", status: "failed", error: "No space left on device" },
  ]);
  // The guest keeps running: the job's error is no STOP reason.
  assert.deepEqual(
    translator.translate({ event: "STOP", data: {}, timestamp }).observations,
    [{ kind: "paused", reason: "unknown" }],
  );
});
