import assert from "node:assert/strict";
import type { DomainHandle, Driver, InstanceSamples } from "../../../actors/driver_protocol.ts";
import { Host } from "../../../actors/host.ts";
import {
  TEST_DISK_BYTES,
  TEST_DISK_CAPACITY_BYTES,
  TestDriver,
} from "../../../drivers/test/test_driver.ts";
import { createMemoryStore } from "../../../src/log/memory_store.ts";
import { emptyDevices } from "../../../src/model/domain.ts";
import { ErrorCode, isVirtError, VirtError } from "../../../src/model/errors.ts";
import {
  hostStatsGroups,
  statsGroups,
  StatsReader,
} from "../../../src/projections/stats_reader.ts";
import { testDefinition } from "../../support/domains.ts";

/** A test hypervisor whose samples can be held back (a first sample not taken yet) or stale. */
class ControlledDriver extends TestDriver {
  mode: "normal" | "pending" | "stale" = "normal";

  override samples(handle: DomainHandle): InstanceSamples | undefined {
    const samples = super.samples(handle);
    if (samples === undefined || this.mode === "normal") return samples;
    if (this.mode === "pending") return { takenAtMs: undefined, stale: false };
    return { ...samples, takenAtMs: samples.takenAtMs! - 2500, stale: true, staleReason: "hung" };
  }
}

async function withHost(
  fn: (host: Host, driver: ControlledDriver) => Promise<void>,
): Promise<void> {
  const driver = new ControlledDriver();
  const host = await Host.open({ store: createMemoryStore(), drivers: [driver], log: () => {} });
  try {
    const devices = emptyDevices();
    devices.disks.push(
      {
        type: "file",
        device: "disk",
        source: { file: "/guest/disk.img", hosts: [] },
        target: { dev: "vda", bus: "virtio" },
      },
      { type: "file", device: "cdrom", target: { dev: "hdc", bus: "ide" } },
      {
        type: "network",
        source: { protocol: "nbd", name: "export", hosts: [] },
        target: { dev: "vdb", bus: "virtio" },
      },
    );
    devices.interfaces.push({
      type: "ethernet",
      mac: "52:54:00:00:00:01",
      target: { dev: "tap1" },
    });
    await host.define(testDefinition("web", { devices }));
    await host.define(testDefinition("db"));
    await host.start("web");
    await fn(host, driver);
  } finally {
    await host.close();
  }
}

function rejectsWith(code: number, message?: string) {
  return (error: unknown) =>
    isVirtError(error, code) && (message === undefined || (error as VirtError).message === message);
}

Deno.test("statsGroups gives every supported group by default and keeps libvirt's order", () => {
  assert.deepEqual(statsGroups(undefined, false), [
    "state",
    "cpu-total",
    "balloon",
    "vcpu",
    "interface",
    "block",
    "perf",
  ]);
  assert.deepEqual(statsGroups(["block", "iothread", "state"], false), ["state", "block"]);
  assert.deepEqual(statsGroups(["iothread"], false), [], "only unsupported groups: empty records");
});

Deno.test("statsGroups refuses unknown groups, and with enforce unsupported ones (code 74)", () => {
  assert.throws(
    () => statsGroups(["cpu"], false),
    rejectsWith(ErrorCode.INVALID_ARG, "unknown stats group 'cpu'"),
  );
  assert.throws(
    () => statsGroups(["state", "iothread", "vm"], true),
    rejectsWith(
      ErrorCode.ARGUMENT_UNSUPPORTED,
      "Stats types bits 0x480 are not supported by this daemon",
    ),
  );
  assert.deepEqual(statsGroups(["state"], true), ["state"]);
});

Deno.test("a host whose drivers count no perf events reports no perf group, as libvirt's test driver", () => {
  const supported = hostStatsGroups([{ name: "test" } as Driver]);
  assert.equal(supported.includes("perf"), false);
  assert.throws(
    () => statsGroups(["perf"], true, supported),
    rejectsWith(
      ErrorCode.ARGUMENT_UNSUPPORTED,
      "Stats types bits 0x40 are not supported by this daemon",
    ),
  );
  const counting = { name: "qemu", setPerfEvent: () => {} } as unknown as Driver;
  assert.deepEqual(statsGroups(["perf"], true, hostStatsGroups([counting])), ["perf"]);
});

Deno.test("StatsReader.domainStats lists filtered domains in list order with their freshness", async () => {
  await withHost(async (host) => {
    const reader = new StatsReader(host);
    const records = await reader.domainStats({ groups: ["state"] });
    assert.deepEqual(
      records.map((record) => [record.name, record.stale, record.sampleAgeMs === null]),
      [
        ["web", false, false],
        ["db", false, true],
      ],
    );
    const running = await reader.domainStats({ groups: ["state"], filter: { running: true } });
    assert.deepEqual(running.map((record) => record.name), ["web"]);
    const named = await reader.domainStats({ domains: ["db", "web"], groups: ["state"] });
    assert.deepEqual(named.map((record) => record.name), ["db", "web"]);
  });
});

Deno.test("StatsReader.domainStats refuses domains with filters, backing, and unknown domains", async () => {
  await withHost(async (host) => {
    const reader = new StatsReader(host);
    await assert.rejects(
      () => reader.domainStats({ domains: ["web"], filter: { active: true } }),
      rejectsWith(ErrorCode.INVALID_ARG),
    );
    await assert.rejects(
      () => reader.domainStats({ backing: true }),
      rejectsWith(ErrorCode.ARGUMENT_UNSUPPORTED),
    );
    await assert.rejects(
      () => reader.domainStats({ domains: ["nosuch"] }),
      rejectsWith(ErrorCode.NO_DOMAIN),
    );
  });
});

Deno.test("StatsReader.domainStats reports stale samples and waits only for a first sample", async () => {
  await withHost(async (host, driver) => {
    const reader = new StatsReader(host, { firstSampleWaitMs: 200 });
    driver.mode = "stale";
    const [stale] = await reader.domainStats({ domains: ["web"], groups: ["cpu-total"] });
    assert.equal(stale.stale, true);
    assert.equal(stale.staleReason, "hung");
    assert.ok(stale.sampleAgeMs !== null && stale.sampleAgeMs >= 2500);
    assert.equal(stale.stats[0].key, "cpu.time", "stale figures are still reported");

    driver.mode = "pending";
    const started = performance.now();
    const [nowait] = await reader.domainStats({ domains: ["web"], nowait: true });
    assert.ok(performance.now() - started < 150, "nowait answers at once");
    assert.equal(nowait.sampleAgeMs, null);
    assert.equal(nowait.stats.some(({ key }) => key === "cpu.time"), false);
    setTimeout(() => driver.mode = "normal", 50);
    const [waited] = await reader.domainStats({ domains: ["web"], groups: ["cpu-total"] });
    assert.equal(waited.stats[0]?.key, "cpu.time", "the first sample was waited for");
  });
});

Deno.test("StatsReader.blockInfo answers running and inactive domains and names bad disks", async () => {
  await withHost(async (host) => {
    const reader = new StatsReader(host);
    const signal = AbortSignal.timeout(5000);
    const running = await reader.blockInfo("web", "/guest/disk.img", signal);
    assert.equal(running.target, "vda");
    assert.equal(running.capacityBytes, TEST_DISK_CAPACITY_BYTES);
    assert.equal(running.physicalBytes, TEST_DISK_BYTES);
    await assert.rejects(
      () => reader.blockInfo("web", "vdz", signal),
      rejectsWith(ErrorCode.INVALID_ARG, "invalid path vdz not assigned to domain"),
    );
    await assert.rejects(
      () => reader.blockInfo("web", "hdc", signal),
      rejectsWith(ErrorCode.INVALID_ARG, "disk 'hdc' does not currently have a source assigned"),
    );
    await host.destroy("web");
    // Inactive too, libvirt's test driver's figures.
    assert.deepEqual(await reader.blockInfo("web", "vda", signal), {
      target: "vda",
      capacityBytes: TEST_DISK_CAPACITY_BYTES,
      allocationBytes: TEST_DISK_BYTES,
      physicalBytes: TEST_DISK_BYTES,
    });
    await assert.rejects(
      () => reader.blockInfo("web", "vdb", signal),
      rejectsWith(ErrorCode.OPERATION_UNSUPPORTED),
      "a network disk has no local storage",
    );
  });
});

Deno.test("StatsReader device statistics need a running domain and a known device", async () => {
  await withHost(async (host) => {
    const reader = new StatsReader(host);
    assert.equal((await reader.blockStats("web", "vda")).device, "vda");
    // The test hypervisor refuses summary statistics, as libvirt's test driver.
    await assert.rejects(
      () => reader.blockStats("web"),
      rejectsWith(ErrorCode.OPERATION_UNSUPPORTED, "summary statistics are not supported yet"),
    );
    await assert.rejects(
      () => reader.blockStats("web", "vdz"),
      rejectsWith(ErrorCode.INVALID_ARG, "invalid path: vdz"),
    );
    assert.equal((await reader.interfaceStats("web", "52:54:00:00:00:01")).name, "tap1");
    await assert.rejects(
      () => reader.interfaceStats("web", "vnet9"),
      rejectsWith(ErrorCode.INVALID_ARG, "'vnet9' is not a known interface"),
    );
    const memoryTags = (await reader.memoryStats("web")).stats.map(([tag]) => tag);
    assert.deepEqual(memoryTags.slice(-3), ["hugetlb_pgalloc", "hugetlb_pgfail", "rss"]);
    assert.equal((await reader.vcpus("web", 4)).vcpus.length, 2);
    for (
      const read of [
        () => reader.blockStats("db", "vda"),
        () => reader.interfaceStats("db", "tap1"),
        () => reader.memoryStats("db"),
      ]
    ) {
      await assert.rejects(read, rejectsWith(ErrorCode.OPERATION_INVALID, "domain is not running"));
    }
    const inactive = await reader.vcpus("db", 2);
    assert.equal(inactive.vcpus[0].state, null);
    assert.equal(inactive.sampleAgeMs, null);
  });
});

Deno.test("StatsReader.blockList reads the live or the persistent definition", async () => {
  await withHost((host) => {
    const reader = new StatsReader(host);
    assert.deepEqual(reader.blockList("web").disks.map((disk) => disk.target), [
      "vda",
      "hdc",
      "vdb",
    ]);
    assert.deepEqual(reader.blockList("db", { inactive: true }).disks, []);
    assert.throws(() => reader.blockList("nosuch"), rejectsWith(ErrorCode.NO_DOMAIN));
    return Promise.resolve();
  });
});
