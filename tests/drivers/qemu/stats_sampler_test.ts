import assert from "node:assert/strict";
import { QmpCommands, type QmpExecutor } from "../../../drivers/qemu/qmp_commands.ts";
import { QmpCommandError, QmpTimeoutError } from "../../../drivers/qemu/qmp_errors.ts";
import {
  guestMemoryStats,
  STATS_INTERVAL_MS_MIN,
  StatsSampler,
} from "../../../drivers/qemu/stats_sampler.ts";
import type { StorageInfo } from "../../../src/storage/storage_info.ts";
import { type DomainDefinition, emptyDevices } from "../../../src/model/domain.ts";
import { ErrorCode, VirtError } from "../../../src/model/errors.ts";

const PID = 4242;
const VCPU_THREAD = 4250;

/** A fake QEMU monitor: answers from a table, or hangs until the command's timeout. */
class FakeMonitor implements QmpExecutor {
  answers: Record<string, unknown> = {
    "query-blockstats": [{
      device: "",
      qdev: "/machine/peripheral/virtio-disk0/virtio-backend",
      "node-name": "drive0-format",
      stats: { rd_operations: 3, wr_operations: 2, wr_highest_offset: 0 },
      parent: { "node-name": "drive0-storage", stats: { wr_highest_offset: 106954752 } },
    }],
    "query-named-block-nodes": [
      {
        "node-name": "drive0-format",
        drv: "raw",
        image: { "virtual-size": 1073741824, "actual-size": 5251072 },
      },
      { "node-name": "drive0-storage", drv: "file", image: { "virtual-size": 1073741824 } },
    ],
    "query-cpus-fast": [{
      "cpu-index": 0,
      "thread-id": VCPU_THREAD,
      "qom-path": "/x",
      target: "x86_64",
    }],
    "query-balloon": { actual: 1073741824 },
    "qom-get": { "last-update": 7, stats: { "stat-free-memory": 4096, "stat-swap-in": -1 } },
  };
  refused = new Set<string>();
  hang = false;
  calls: string[] = [];

  execute<T>(
    command: string,
    _args?: Record<string, unknown>,
    options: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<T> {
    this.calls.push(command);
    if (this.refused.has(command)) {
      return Promise.reject(new QmpCommandError(command, "GenericError", "refused"));
    }
    if (!this.hang) return Promise.resolve(structuredClone(this.answers[command]) as T);
    return new Promise<T>((_resolve, reject) => {
      const timer = setTimeout(
        () => reject(new QmpTimeoutError(command, options.timeoutMs ?? 0)),
        options.timeoutMs ?? 0,
      );
      options.signal?.addEventListener("abort", () => {
        clearTimeout(timer);
        reject(new Error("aborted"));
      }, { once: true });
    });
  }
}

/** A stat line with utime, stime, rss and processor set. */
function statLine(user: number, system: number, rss: number, cpu: number): string {
  const fields = Array.from({ length: 50 }, () => "0");
  fields[0] = "S";
  fields[11] = String(user);
  fields[12] = String(system);
  fields[21] = String(rss);
  fields[36] = String(cpu);
  return `${PID} (qemu-system-x86) ${fields.join(" ")}\n`;
}

/** A fake `/proc` and `/sys/class/net` under a temporary folder. */
async function withFakeHost(
  fn: (roots: { procRoot: string; netRoot: string; dir: string }) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "evirt-sampler-" });
  try {
    const proc = `${dir}/proc/${PID}`;
    await Deno.mkdir(`${proc}/task/${VCPU_THREAD}`, { recursive: true });
    await Deno.mkdir(`${proc}/fdinfo`, { recursive: true });
    await Deno.writeTextFile(`${proc}/stat`, statLine(300, 100, 1000, 0));
    await Deno.writeTextFile(`${proc}/task/${VCPU_THREAD}/stat`, statLine(200, 50, 1000, 1));
    await Deno.writeTextFile(`${proc}/task/${VCPU_THREAD}/schedstat`, "2500000000 1234 99\n");
    await Deno.writeTextFile(`${proc}/task/${VCPU_THREAD}/status`, "Cpus_allowed_list:\t0-1\n");
    await fn({ procRoot: `${dir}/proc`, netRoot: `${dir}/net`, dir });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function writeNetCounters(netRoot: string, name: string, base: number): Promise<void> {
  const dir = `${netRoot}/${name}/statistics`;
  await Deno.mkdir(dir, { recursive: true });
  const counters = [
    "rx_bytes",
    "rx_packets",
    "rx_errors",
    "rx_dropped",
    "tx_bytes",
    "tx_packets",
    "tx_errors",
    "tx_dropped",
  ];
  for (const [offset, counter] of counters.entries()) {
    await Deno.writeTextFile(`${dir}/${counter}`, `${base + offset}\n`);
  }
}

function definition(change: (devices: DomainDefinition["devices"]) => void = () => {}) {
  const devices = emptyDevices();
  devices.disks.push({
    type: "file",
    source: { file: "/images/vda.raw", hosts: [] },
    target: { dev: "vda", bus: "virtio" },
  });
  change(devices);
  return {
    type: "qemu",
    name: "vm",
    memoryKiB: 1048576,
    vcpus: 1,
    os: { type: "hvm", boot: [] },
    devices,
  } as DomainDefinition;
}

const DISKS = [{
  target: "vda",
  nodeName: "drive0-format",
  qdevId: "virtio-disk0",
  path: "/images/vda.raw",
}];

function sampler(
  monitor: FakeMonitor | undefined,
  roots: { procRoot: string; netRoot: string },
  options: Partial<ConstructorParameters<typeof StatsSampler>[0]> = {},
): StatsSampler {
  const qmp = monitor === undefined ? undefined : new QmpCommands(monitor);
  return new StatsSampler({
    qmp: () => qmp,
    pid: PID,
    definition: definition(),
    disks: DISKS,
    queryTimeoutMs: 20,
    now: () => 1_000_000,
    ...roots,
    ...options,
  });
}

Deno.test("StatsSampler takes QMP replies, process figures and vCPU threads in one sample", async () => {
  await withFakeHost(async (roots) => {
    const monitor = new FakeMonitor();
    const subject = sampler(monitor, roots);
    const initial = subject.samples;
    assert.equal(initial.takenAtMs, undefined);
    assert.equal(initial.stale, false);
    await subject.sampleOnce();
    const samples = subject.samples;
    assert.equal(samples.takenAtMs, 1_000_000);
    assert.equal(samples.stale, false);
    assert.deepEqual(samples.cpu, { timeNs: 4e9, userNs: 3e9, systemNs: 1e9 });
    assert.equal(samples.rssKiB, 4000);
    assert.deepEqual(samples.vcpus, [{
      number: 0,
      state: 1,
      timeNs: 2.5e9,
      hostCpu: 1,
      affinity: [0, 1],
      waitNs: 1234,
    }]);
    assert.deepEqual(samples.block?.disks, [{
      target: "vda",
      path: "/images/vda.raw",
      reported: true,
      counters: { readRequests: 3, writeRequests: 2 },
      highestOffsetBytes: 106954752,
      image: {
        format: "raw",
        containerKind: "file",
        capacityBytes: 1073741824,
        allocatedBytes: 5251072,
      },
    }], "QEMU's replies become evirt's figures: the protocol node's highest offset");
    assert.deepEqual(samples.block?.containers, {}, "actual-size known: no storage read");
    assert.equal(samples.balloonKiB, undefined, "no balloon device: no query-balloon");
    assert.deepEqual(monitor.calls, [
      "query-blockstats",
      "query-named-block-nodes",
      "query-cpus-fast",
    ]);
    assert.deepEqual(samples.interfaces, []);
  });
});

Deno.test("StatsSampler marks samples stale and keeps the last figures when QEMU stops answering", async () => {
  await withFakeHost(async (roots) => {
    const monitor = new FakeMonitor();
    let now = 1000;
    const subject = sampler(monitor, roots, { now: () => now });
    await subject.sampleOnce();
    const fresh = subject.samples;
    monitor.hang = true;
    now = 5000;
    await subject.sampleOnce();
    assert.equal(subject.samples.stale, true);
    assert.match(subject.samples.staleReason ?? "", /timed out .* 'query-blockstats' after 20 ms/);
    assert.equal(subject.samples.takenAtMs, 1000, "the figures are the old ones");
    assert.deepEqual(subject.samples.cpu, fresh.cpu);
    assert.deepEqual(
      monitor.calls.slice(3),
      ["query-blockstats"],
      "the round stops at the first timeout",
    );
    monitor.hang = false;
    await subject.sampleOnce();
    assert.equal(subject.samples.stale, false);
    assert.equal(subject.samples.takenAtMs, 5000);
    assert.equal(subject.samples.staleReason, undefined);
  });
});

Deno.test("StatsSampler is stale without a monitor connection or a process", async () => {
  await withFakeHost(async (roots) => {
    const disconnected = sampler(undefined, roots);
    await disconnected.sampleOnce();
    assert.deepEqual(disconnected.samples, {
      takenAtMs: undefined,
      stale: true,
      staleReason: "no connection to the monitor",
    });
    await Deno.remove(`${roots.procRoot}/${PID}`, { recursive: true });
    const gone = sampler(new FakeMonitor(), roots);
    await gone.sampleOnce();
    assert.equal(gone.samples.stale, true);
    assert.match(gone.samples.staleReason ?? "", /qemu process 4242 is gone/);
  });
});

Deno.test("StatsSampler reads the balloon and the guest's memory statistics when it has them", async () => {
  await withFakeHost(async (roots) => {
    const monitor = new FakeMonitor();
    const withStats = definition((devices) => {
      devices.memballoon = { model: "virtio", statsPeriod: 5 };
    });
    const subject = sampler(monitor, roots, { definition: withStats });
    await subject.sampleOnce();
    assert.equal(subject.samples.balloonKiB, 1048576);
    assert.deepEqual(subject.samples.guestMemory, [["unused", 4], ["last_update", 7]]);
    // A guest without a balloon driver yet: QEMU refuses; the figure is left out, not stale.
    monitor.refused.add("qom-get");
    await subject.sampleOnce();
    assert.equal(subject.samples.stale, false);
    assert.equal(subject.samples.guestMemory, undefined);
    assert.equal(subject.samples.balloonKiB, 1048576);
  });
});

Deno.test("StatsSampler reports tap counters in the guest's view, naming unnamed taps from fdinfo", async () => {
  await withFakeHost(async (roots) => {
    await writeNetCounters(roots.netRoot, "tapnamed", 100);
    await writeNetCounters(roots.netRoot, "tap3", 200);
    await Deno.writeTextFile(`${roots.procRoot}/${PID}/fdinfo/12`, "pos:\t0\niff:\ttap3\n");
    await Deno.writeTextFile(`${roots.procRoot}/${PID}/fdinfo/9`, "pos:\t0\nflags:\t02\n");
    const nics = definition((devices) => {
      devices.interfaces.push(
        { type: "user" },
        { type: "ethernet", target: { dev: "tapnamed" } },
        { type: "ethernet" },
      );
    });
    const subject = sampler(new FakeMonitor(), roots, { definition: nics });
    await subject.sampleOnce();
    assert.deepEqual(subject.samples.interfaces, [
      {
        index: 1,
        name: "tapnamed",
        rxBytes: 104,
        rxPackets: 105,
        rxErrors: 106,
        rxDrops: 107,
        txBytes: 100,
        txPackets: 101,
        txErrors: 102,
        txDrops: 103,
      },
      {
        index: 2,
        name: "tap3",
        rxBytes: 204,
        rxPackets: 205,
        rxErrors: 206,
        rxDrops: 207,
        txBytes: 200,
        txPackets: 201,
        txErrors: 202,
        txDrops: 203,
      },
    ]);
  });
});

Deno.test("StatsSampler re-reads a container's size only where QEMU gives no actual-size", async () => {
  await withFakeHost(async (roots) => {
    const monitor = new FakeMonitor();
    const reads: string[] = [];
    const device: StorageInfo = { kind: "block", path: "/images/vda.raw", sizeBytes: 67108864 };
    const subject = sampler(monitor, roots, {
      readStorage: (path) => {
        reads.push(path);
        return Promise.resolve(device);
      },
    });
    await subject.sampleOnce();
    assert.deepEqual(reads, []);
    (monitor.answers["query-named-block-nodes"] as { image: Record<string, number> }[])[0].image = {
      "virtual-size": 33554432,
      "actual-size": 0,
    };
    await subject.sampleOnce();
    assert.deepEqual(reads, ["/images/vda.raw"]);
    assert.deepEqual(subject.samples.block?.containers, { "/images/vda.raw": device });
  });
});

Deno.test("StatsSampler leaves an unreadable container out without going stale", async () => {
  await withFakeHost(async (roots) => {
    const monitor = new FakeMonitor();
    (monitor.answers["query-named-block-nodes"] as { image: Record<string, number> }[])[0].image = {
      "virtual-size": 33554432,
    };
    const subject = sampler(monitor, roots, {
      readStorage: (path) =>
        Promise.reject(new VirtError(ErrorCode.OPERATION_TIMEOUT, `timed out reading '${path}'`)),
    });
    await subject.sampleOnce();
    assert.equal(subject.samples.stale, false);
    assert.deepEqual(subject.samples.block?.containers, {});
  });
});

Deno.test("StatsSampler polls at its interval once started and stops cleanly", async () => {
  await withFakeHost(async (roots) => {
    const monitor = new FakeMonitor();
    const subject = sampler(monitor, roots, { intervalMs: STATS_INTERVAL_MS_MIN });
    subject.start();
    subject.start();
    assert.equal(subject.running, true);
    const deadline = Date.now() + 5000;
    while (monitor.calls.filter((call) => call === "query-blockstats").length < 3) {
      if (Date.now() > deadline) throw new Error("the sampler did not poll three times");
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    subject.stop();
    assert.equal(subject.running, false);
    const calls = monitor.calls.length;
    await new Promise((resolve) => setTimeout(resolve, STATS_INTERVAL_MS_MIN * 3));
    assert.ok(monitor.calls.length <= calls + 3, "at most the round in progress finishes");
    assert.ok(subject.samples.takenAtMs !== undefined);
  });
});

Deno.test("StatsSampler refuses an interval or timeout out of range", () => {
  const base = { qmp: () => undefined, pid: PID, definition: definition(), disks: [] };
  for (const intervalMs of [0, STATS_INTERVAL_MS_MIN - 1, 1.5, Number.NaN]) {
    assert.throws(() => new StatsSampler({ ...base, intervalMs }), TypeError);
  }
  assert.throws(() => new StatsSampler({ ...base, queryTimeoutMs: 0 }), TypeError);
});

Deno.test("guestMemoryStats maps QEMU's statistics to dommemstat's names and KiB in libvirt's order", () => {
  assert.deepEqual(
    guestMemoryStats({
      "last-update": 1700000000,
      stats: {
        "stat-htlb-pgfail": 0,
        "stat-disk-caches": 2048,
        "stat-available-memory": 8192,
        "stat-total-memory": 16384,
        "stat-free-memory": 4096,
        "stat-minor-faults": 12,
        "stat-major-faults": 3,
        "stat-swap-out": 1024,
        "stat-swap-in": -1,
        "stat-htlb-pgalloc": -1,
      },
    }),
    [
      ["swap_out", 1],
      ["major_fault", 3],
      ["minor_fault", 12],
      ["unused", 4],
      ["available", 16],
      ["usable", 8],
      ["last_update", 1700000000],
      ["disk_caches", 2],
      ["hugetlb_pgfail", 0],
    ],
  );
});

Deno.test("guestMemoryStats refuses a reply without statistics", () => {
  assert.throws(() => guestMemoryStats({ "last-update": 1 }), VirtError);
  assert.throws(() => guestMemoryStats("nope"), VirtError);
});
