import assert from "node:assert/strict";
import type { InstanceSamples } from "../../../actors/driver_protocol.ts";
import {
  domainStats,
  type StatsField,
  SUPPORTED_STATS_GROUPS,
} from "../../../src/projections/domain_stats.ts";
import { guestDefinition, guestSamples } from "./_stats_fixtures.ts";

const GiB = 1024 * 1024 * 1024;

function asMap(fields: StatsField[]): Map<string, number | string> {
  return new Map(fields.map(({ key, value }) => [key, value]));
}

async function running(groups = SUPPORTED_STATS_GROUPS, samples: InstanceSamples = guestSamples()) {
  return await domainStats(
    { state: 1, reason: 1, active: true, definition: guestDefinition(), samples },
    groups,
  );
}

Deno.test("domainStats reports reference §5's block keys of a running domain", async () => {
  const block = asMap(await running(["block"]));
  assert.equal(block.get("block.count"), 4);
  assert.equal(block.get("block.0.name"), "vda");
  assert.equal(block.get("block.0.path"), "/images/vda.raw");
  assert.equal(block.get("block.0.allocation"), 106954752);
  assert.equal(block.get("block.0.capacity"), GiB);
  assert.equal(block.get("block.0.physical"), 5251072);
  assert.equal(block.get("block.2.allocation"), 6684672, "the file node's highest offset");
  assert.equal(block.get("block.2.capacity"), GiB);
  assert.equal(block.get("block.2.physical"), 6627328);
  assert.equal(block.get("block.3.name"), "hdc");
  assert.equal(block.has("block.3.path"), false, "an empty CD-ROM has no path");
  assert.equal(block.has("block.3.rd.reqs"), false, "nor statistics");
});

Deno.test("domainStats emits the keys of each group in libvirt's order", async () => {
  const keys = (await running()).map(({ key }) => key);
  assert.deepEqual(keys.slice(0, 19), [
    "state.state",
    "state.reason",
    "cpu.time",
    "cpu.user",
    "cpu.system",
    "balloon.current",
    "balloon.maximum",
    "balloon.unused",
    "balloon.last-update",
    "balloon.rss",
    "vcpu.current",
    "vcpu.maximum",
    "vcpu.0.state",
    "vcpu.0.time",
    "vcpu.0.wait",
    "vcpu.1.state",
    "vcpu.1.time",
    "net.count",
    "net.0.name",
  ]);
  assert.deepEqual(keys.slice(19, 28), [
    "net.0.rx.bytes",
    "net.0.rx.pkts",
    "net.0.rx.errs",
    "net.0.rx.drop",
    "net.0.tx.bytes",
    "net.0.tx.pkts",
    "net.0.tx.errs",
    "net.0.tx.drop",
    "block.count",
  ]);
  assert.deepEqual(keys.slice(28, 42), [
    "block.0.name",
    "block.0.path",
    "block.0.rd.reqs",
    "block.0.rd.bytes",
    "block.0.rd.times",
    "block.0.wr.reqs",
    "block.0.wr.bytes",
    "block.0.wr.times",
    "block.0.fl.reqs",
    "block.0.fl.times",
    "block.0.allocation",
    "block.0.capacity",
    "block.0.physical",
    "block.1.name",
  ]);
});

Deno.test("domainStats reports only the asked groups, whatever their order", async () => {
  const keys = (await running(["vcpu", "state"])).map(({ key }) => key);
  assert.deepEqual(keys.slice(0, 4), [
    "state.state",
    "state.reason",
    "vcpu.current",
    "vcpu.maximum",
  ]);
  assert.equal(keys.some((key) => key.startsWith("block.")), false);
});

Deno.test("domainStats gives an interface's counters in the guest's view and counts every NIC", async () => {
  const net = asMap(await running(["interface"]));
  assert.equal(net.get("net.count"), 2);
  assert.equal(net.get("net.0.name"), "tap0");
  assert.equal(net.get("net.0.rx.bytes"), 10);
  assert.equal(net.get("net.0.tx.pkts"), 3);
  assert.equal(net.has("net.1.name"), false, "a user-mode NIC has no host counters");
});

Deno.test("domainStats takes a running balloon's size and the total memory otherwise", async () => {
  const withBalloon = guestDefinition((definition) => {
    definition.devices.memballoon = { model: "virtio" };
  });
  const runningFields = asMap(
    await domainStats(
      { state: 1, reason: 1, active: true, definition: withBalloon, samples: guestSamples() },
      ["balloon"],
    ),
  );
  assert.equal(runningFields.get("balloon.current"), 524288);
  assert.equal(runningFields.get("balloon.maximum"), 1048576);
  assert.equal(runningFields.get("balloon.rss"), 200_000);
  const inactive = asMap(
    await domainStats({ state: 5, reason: 0, active: false, definition: withBalloon }, ["balloon"]),
  );
  assert.deepEqual([...inactive], [["balloon.current", 1048576], ["balloon.maximum", 1048576]]);
});

Deno.test("domainStats gives an inactive domain its state, counts and non-zero storage figures", async () => {
  const fields = await domainStats({
    state: 5,
    reason: 2,
    active: false,
    definition: guestDefinition(),
    inactiveBlocks: [
      { capacityBytes: GiB, allocationBytes: 5251072, physicalBytes: GiB },
      undefined,
      { capacityBytes: 33554432, allocationBytes: 0, physicalBytes: 67108864 },
    ],
  }, SUPPORTED_STATS_GROUPS);
  assert.deepEqual(fields.map(({ key, value }) => `${key}=${value}`), [
    "state.state=5",
    "state.reason=2",
    "balloon.current=1048576",
    "balloon.maximum=1048576",
    "vcpu.current=2",
    "vcpu.maximum=2",
    "block.count=4",
    "block.0.name=vda",
    "block.0.path=/images/vda.raw",
    "block.0.allocation=5251072",
    `block.0.capacity=${GiB}`,
    `block.0.physical=${GiB}`,
    "block.1.name=vdb",
    "block.1.path=/images/vdb.raw",
    "block.2.name=vdc",
    "block.2.path=/images/vdc.qcow2",
    "block.2.capacity=33554432",
    "block.2.physical=67108864",
    "block.3.name=hdc",
  ]);
});

Deno.test("domainStats takes physical from the sampled container when the driver gives no allocated bytes", async () => {
  const samples = guestSamples();
  const vda = samples.block!.disks[0];
  delete vda.image!.allocatedBytes;
  const before = asMap(await running(["block"], samples));
  assert.equal(before.has("block.0.physical"), false, "no size sampled: left out");
  samples.block!.containers["/images/vda.raw"] = {
    kind: "block",
    path: "/images/vda.raw",
    sizeBytes: 2 * GiB,
  };
  const after = asMap(await running(["block"], samples));
  assert.equal(after.get("block.0.physical"), 2 * GiB);
});

Deno.test("domainStats of a running domain without samples reports definition keys only", async () => {
  const fields = await domainStats(
    { state: 3, reason: 1, active: true, definition: guestDefinition() },
    SUPPORTED_STATS_GROUPS,
  );
  const keys = fields.map(({ key }) => key);
  assert.ok(keys.includes("net.count"));
  assert.ok(keys.includes("block.0.path"));
  assert.equal(keys.some((key) => key.startsWith("cpu.") || key.includes(".rd.")), false);
});

Deno.test("domainStats reports a running domain's perf counts as perf.<event>, none when inactive", async () => {
  const samples = {
    ...guestSamples(),
    perf: [["cpu_clock", 1044184], ["task_clock", 1082637]],
  } as InstanceSamples;
  assert.deepEqual(await running(["perf"], samples), [
    { key: "perf.cpu_clock", value: 1044184 },
    { key: "perf.task_clock", value: 1082637 },
  ]);
  assert.deepEqual(await running(["perf"]), [], "no event counted: no keys");
  const inactive = await domainStats(
    { state: 5, reason: 0, active: false, definition: guestDefinition(), samples },
    ["perf"],
  );
  assert.deepEqual(inactive, []);
});
