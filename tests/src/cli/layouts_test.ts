import assert from "node:assert/strict";
import type { DomainInfoView, DomainSummaryView, EventMessage } from "../../../src/api/views.ts";
import {
  formatCpuTime,
  formatDomainInfo,
  formatDomainList,
  formatDomainState,
  formatEvent,
  formatEventSummary,
  formatEventTime,
  formatNodeInfo,
  formatTable,
  formatVersion,
} from "../../../src/cli/layouts.ts";
import { TEST_NODE_INFO } from "../../../drivers/test/test_driver.ts";

function summary(overrides: Partial<DomainSummaryView> = {}): DomainSummaryView {
  return {
    uuid: "6695eb01-f6a4-8304-79aa-97f2502e193f",
    name: "test",
    id: 1,
    state: 1,
    stateName: "running",
    reason: 1,
    reasonName: "booted",
    persistent: true,
    autostart: false,
    active: true,
    managedSave: false,
    pendingFacts: null,
    ...overrides,
  };
}

function info(overrides: Partial<DomainInfoView> = {}): DomainInfoView {
  return {
    ...summary(),
    type: "test",
    osType: "hvm",
    maxMemoryKiB: 8388608,
    memoryKiB: 2097152,
    vcpus: 2,
    cpuTimeNs: 1_234_000_000,
    ...overrides,
  };
}

function event(overrides: Partial<EventMessage>): EventMessage {
  return {
    position: 7,
    time: "2024-03-05T06:07:08.009Z",
    domain: { uuid: "6695eb01-f6a4-8304-79aa-97f2502e193f", name: "test" },
    fact: "domain.started",
    eventId: 0,
    event: "lifecycle",
    ...overrides,
  };
}

Deno.test("formatDomainList prints virsh's table of test:///default byte for byte", () => {
  // reference §1: `virsh -c test:///default list --all` (the empty line is the dispatcher's).
  assert.equal(
    formatDomainList([summary()]),
    " Id   Name   State\n----------------------\n 1    test   running\n",
  );
});

Deno.test("formatDomainList sizes columns from the widest cell and shows '-' for inactive ids", () => {
  const rows = [
    summary({ id: 12, name: "web-frontend" }),
    summary({ id: null, name: "db", stateName: "shut off", active: false }),
  ];
  assert.equal(
    formatDomainList(rows),
    " Id   Name           State\n" +
      "-------------------------------\n" +
      " 12   web-frontend   running\n" +
      " -    db             shut off\n",
  );
});

Deno.test("formatDomainList of no domains prints the header and the dashes only", () => {
  assert.equal(formatDomainList([]), " Id   Name   State\n--------------------\n");
});

Deno.test("formatDomainList with quiet drops the header and sizes columns by the rows", () => {
  assert.equal(formatDomainList([summary()], {}, true), " 1   test   running\n");
});

Deno.test("formatDomainList with name or uuid prints one domain per line", () => {
  const rows = [summary(), summary({ id: null, name: "db", uuid: "u2" })];
  assert.equal(formatDomainList(rows, { name: true }), "test\ndb\n");
  assert.equal(
    formatDomainList(rows, { uuid: true }),
    "6695eb01-f6a4-8304-79aa-97f2502e193f\nu2\n",
  );
  assert.equal(
    formatDomainList(rows, { uuid: true, name: true }),
    "6695eb01-f6a4-8304-79aa-97f2502e193f test\nu2 db\n",
  );
});

Deno.test("formatDomainList with id alone skips inactive domains", () => {
  const rows = [summary(), summary({ id: null, name: "db" })];
  assert.equal(formatDomainList(rows, { id: true }), "1\n");
  assert.equal(formatDomainList(rows, { id: true, name: true }), "1 test\n- db\n");
});

Deno.test("formatDomainList with titles adds a Title column", () => {
  const titles = new Map([["6695eb01-f6a4-8304-79aa-97f2502e193f", "the test domain"]]);
  assert.equal(
    formatDomainList([summary()], { titles }),
    " Id   Name   State     Title\n" +
      "----------------------------------------\n" +
      " 1    test   running   the test domain\n",
  );
});

Deno.test("formatTable escapes control characters as \\xNN so columns stay aligned", () => {
  assert.equal(
    formatTable(["A", "B"], [["x\ty", "z"]]),
    " A        B\n-------------\n x\\x09y   z\n",
  );
});

Deno.test("formatTable counts wide characters as two columns", () => {
  assert.equal(formatTable(["N", "S"], [["日本", "x"]]), " N      S\n-----------\n 日本   x\n");
});

Deno.test("formatTable refuses a row with the wrong number of cells", () => {
  assert.throws(() => formatTable(["A", "B"], [["x"]]), /A table row has 1 cells, expected 2/);
});

Deno.test("formatDomainInfo prints virsh's dominfo with labels padded to 16 columns", () => {
  assert.equal(
    formatDomainInfo(info()),
    "Id:             1\n" +
      "Name:           test\n" +
      "UUID:           6695eb01-f6a4-8304-79aa-97f2502e193f\n" +
      "OS Type:        hvm\n" +
      "State:          running\n" +
      "CPU(s):         2\n" +
      "CPU time:       1.2s\n" +
      "Max memory:     8388608 KiB\n" +
      "Used memory:    2097152 KiB\n" +
      "Persistent:     yes\n" +
      "Autostart:      disable\n" +
      "Managed save:   no\n" +
      "Security model: none\n" +
      "Security DOI:   0\n",
  );
});

Deno.test("formatDomainInfo of an inactive domain shows '-' and no CPU time", () => {
  const text = formatDomainInfo(
    info({ id: null, stateName: "shut off", cpuTimeNs: 0, persistent: false, autostart: true }),
  );
  assert.match(text, /^Id: {13}-\n/);
  assert.doesNotMatch(text, /CPU time/);
  assert.match(text, /\nPersistent: {5}no\nAutostart: {6}enable\n/);
});

Deno.test("formatDomainInfo adds a line for facts the event log has refused so far", () => {
  const pendingFacts = {
    facts: 1,
    cause: "no space left on device",
    since: "2026-01-02T03:04:05.000Z",
    needsReconcile: true,
    dropped: 0,
  };
  const text = formatDomainInfo(info({ stateName: "shut off", pendingFacts }));
  assert.match(
    text,
    /\nPending facts: {2}1 \(no space left on device, since 2026-01-02T03:04:05\.000Z\)\n$/,
  );
  assert.doesNotMatch(formatDomainInfo(info()), /Pending/);
});

Deno.test("formatCpuTime prints seconds with one decimal", () => {
  assert.equal(formatCpuTime(0), "0.0s");
  assert.equal(formatCpuTime(1_250_000_001), "1.3s");
  assert.equal(formatCpuTime(61_000_000_000), "61.0s");
});

Deno.test("formatCpuTime rounds exact ties to even as printf does", () => {
  assert.equal(formatCpuTime(1_250_000_000), "1.2s");
  assert.equal(formatCpuTime(1_750_000_000), "1.8s");
  assert.equal(formatCpuTime(1_050_000_000), "1.1s"); // 1.05 is slightly above in binary
  assert.equal(formatCpuTime(1_150_000_000), "1.1s"); // 1.15 is slightly below in binary
});

Deno.test("formatDomainState prints the state, with reason in parentheses", () => {
  const state = { state: 5, stateName: "shut off", reason: 2, reasonName: "destroyed" };
  assert.equal(formatDomainState(state, false), "shut off\n");
  assert.equal(formatDomainState(state, true), "shut off (destroyed)\n");
});

Deno.test("formatNodeInfo prints virsh's nodeinfo of the test host", () => {
  assert.equal(
    formatNodeInfo(TEST_NODE_INFO),
    "CPU model:           i686\n" +
      "CPU(s):              16\n" +
      "CPU frequency:       1400 MHz\n" +
      "CPU socket(s):       2\n" +
      "Core(s) per socket:  2\n" +
      "Thread(s) per core:  2\n" +
      "NUMA cell(s):        2\n" +
      "Memory size:         3145728 KiB\n",
  );
});

Deno.test("formatNodeInfo leaves out an unknown CPU frequency", () => {
  assert.doesNotMatch(formatNodeInfo({ ...TEST_NODE_INFO, mhz: 0 }), /CPU frequency/);
});

Deno.test("formatVersion prints virsh's version lines with one line per hypervisor", () => {
  const view = {
    evirt: "0.2.0",
    api: "v1",
    hypervisors: [
      { driver: "test", version: "0.2.0", domainTypes: ["test"] },
      { driver: "qemu", version: "7.2.0", domainTypes: ["qemu", "kvm"] },
    ],
  };
  assert.equal(
    formatVersion("0.1.0", view, true),
    "Compiled against library: evirt 0.1.0\n" +
      "Using library: evirt 0.1.0\n" +
      "Using API: evirt v1\n" +
      "Running hypervisor: Test 0.2.0\n" +
      "Running hypervisor: QEMU 7.2.0\n" +
      "Running against daemon: 0.2.0\n",
  );
  assert.doesNotMatch(formatVersion("0.1.0", view, false), /daemon/);
});

Deno.test("formatEvent prints lifecycle events as virsh", () => {
  const started = event({
    lifecycle: { type: 2, typeName: "Started", detail: 0, detailName: "Booted" },
  });
  assert.equal(
    formatEvent(started, false),
    "event 'lifecycle' for domain 'test': Started Booted\n",
  );
  const stopped = event({
    lifecycle: { type: 5, typeName: "Stopped", detail: 1, detailName: "Destroyed" },
  });
  assert.equal(
    formatEvent(stopped, true),
    "2024-03-05 06:07:08.009+0000: event 'lifecycle' for domain 'test': Stopped Destroyed\n",
  );
});

Deno.test("formatEvent prints the other event ids as virsh", () => {
  const cases: [Partial<EventMessage>, string][] = [
    [{ event: "reboot", eventId: 1 }, "event 'reboot' for domain 'test'"],
    [
      { event: "rtc-change", eventId: 2, data: { utcoffset: -3600 } },
      "event 'rtc-change' for domain 'test': -3600",
    ],
    [
      { event: "watchdog", eventId: 3, data: { action: 1 } },
      "event 'watchdog' for domain 'test': pause",
    ],
    [
      {
        event: "io-error",
        eventId: 4,
        data: { srcPath: "/d.img", devAlias: "virtio-disk0", action: 1 },
      },
      "event 'io-error' for domain 'test': /d.img (virtio-disk0) pause",
    ],
    [
      {
        event: "io-error-reason",
        eventId: 6,
        data: { srcPath: "/d.img", devAlias: "virtio-disk0", action: 2, reason: "enospc" },
      },
      "event 'io-error' for domain 'test': /d.img (virtio-disk0) report due to enospc",
    ],
    [
      { event: "balloon-change", eventId: 13, data: { actual: 1048576 } },
      "event 'balloon-change' for domain 'test': 1048576KiB",
    ],
    [
      { event: "device-removed", eventId: 15, data: { alias: "net0" } },
      "event 'device-removed' for domain 'test': net0",
    ],
    [
      { event: "metadata-change", eventId: 23, data: { type: 2, nsuri: "http://x.org/a" } },
      "event 'metadata-change' for domain 'test': type element, uri http://x.org/a",
    ],
    [
      { event: "metadata-change", eventId: 23, data: { type: 1 } },
      "event 'metadata-change' for domain 'test': type title, uri (null)",
    ],
    [{ event: "pm-wakeup", eventId: 11 }, "event 'pm-wakeup' for domain 'test'"],
    [
      {
        event: "block-job-2",
        eventId: 16,
        data: { disk: "vda", path: "/i/a.qcow2", type: 4, status: 3 },
      },
      "event 'block-job-2' for domain 'test': Active Block Commit for vda ready",
    ],
  ];
  for (const [overrides, expected] of cases) {
    assert.equal(formatEvent(event(overrides), false), `${expected}\n`);
  }
});

Deno.test("formatEventTime refuses a time that is not ISO 8601", () => {
  assert.throws(() => formatEventTime("yesterday"), /Invalid event time 'yesterday'/);
});

Deno.test("formatEventSummary says why the loop ended, then the count", () => {
  assert.equal(formatEventSummary("done", 1), "events received: 1\n");
  assert.equal(formatEventSummary("timeout", 0), "event loop timed out\nevents received: 0\n");
  assert.equal(formatEventSummary("interrupt", 3), "event loop interrupted\nevents received: 3\n");
});
