/**
 * A full `domstats` (every group) of 20 QEMU guests, measured in one run two ways:
 *
 * - evirt: the stats projection answering from the drivers' samples (`StatsReader.domainStats`,
 *   what `GET /v1/stats` and `evirt domstats` run);
 * - the per-call baseline: the four QMP queries per domain (`query-blockstats`,
 *   `query-named-block-nodes`, `query-balloon`, `query-cpus-fast`), one after another through
 *   evirt's own monitor, as a daemon that polls QEMU on every call must;
 *
 * then again with one QEMU SIGSTOPped: evirt must answer in the same time, that domain's samples
 * marked stale, while the per-call baseline waits for the monitor's timeouts (libvirt does not
 * answer at all). libvirt's own figure on this kind of machine, 101 ms for 20 guests, is printed
 * beside evirt's.
 *
 * Guests are started paused (QEMU `-S`: no guest code runs, sparing the two cores), each with a
 * 64 MiB raw disk and a balloon. Goals: evirt ≥ 10× faster than the baseline; the same answer
 * time with a stopped QEMU.
 *
 * Usage: `deno run -A bench/stats_bench.ts`; `EVIRT_BENCH_GUESTS` (default 20) guests,
 * `EVIRT_BENCH_ROUNDS` (default 30) measured calls of each kind. Every QEMU started is killed by
 * pid before the script ends. Under `deno bench` it measures the projection of 20 domains of the
 * test hypervisor instead (no QEMU needed).
 *
 * @module
 */

import { median, medianSummary } from "./_figures.ts";
import { Host } from "../actors/host.ts";
import { isProcessGone, waitForExit } from "../src/host/process_state.ts";
import { QemuDriver } from "../drivers/qemu/qemu_driver.ts";
import { TestDriver } from "../drivers/test/test_driver.ts";
import { parsePositiveInteger } from "../src/config/config.ts";
import { createMemoryStore } from "../src/log/memory_store.ts";
import { type DomainDefinition, emptyDevices } from "../src/model/domain.ts";
import { StatsReader } from "../src/projections/stats_reader.ts";

/** libvirt 9.0's full `domstats` of 20 guests on this kind of machine, in ms. */
const LIBVIRT_DOMSTATS_20_MS = 101;
/** evirt must be at least this many times faster than the per-call baseline. */
const SPEEDUP_GOAL = 10;
/** With one QEMU stopped, evirt's median may be at most this much above its normal median. */
const STOPPED_TOLERANCE_FACTOR = 1.5;
const STOPPED_TOLERANCE_MS = 1;
/** Bound on any one wait (samples, staleness, exits), in ms. */
const WAIT_TIMEOUT_MS = 15_000;
/** Per-call baseline passes measured while a QEMU is stopped (each waits for its timeouts). */
const STOPPED_BASELINE_PASSES = 2;

function guestDefinition(index: number, diskPath: string, withDisk: boolean): DomainDefinition {
  const devices = emptyDevices();
  if (withDisk) {
    devices.disks.push({
      type: "file",
      device: "disk",
      driver: { name: "qemu", type: "raw" },
      source: { file: diskPath, hosts: [] },
      target: { dev: "vda", bus: "virtio" },
    });
  }
  devices.memballoon = { model: "virtio" };
  return {
    type: withDisk ? "qemu" : "test",
    name: `stats-${index}`,
    uuid: `00000000-0000-4000-b000-${index.toString(16).padStart(12, "0")}`,
    memoryKiB: 128 * 1024,
    vcpus: 1,
    os: { type: "hvm", machine: "pc", boot: [] },
    devices,
  };
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

/** Resolves once `ready()` holds, polling; throws after {@linkcode WAIT_TIMEOUT_MS}. */
async function until(what: string, ready: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + WAIT_TIMEOUT_MS;
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function main(): Promise<void> {
  const env = Deno.env.toObject();
  const guests = parsePositiveInteger(env, "EVIRT_BENCH_GUESTS", 20);
  const rounds = parsePositiveInteger(env, "EVIRT_BENCH_ROUNDS", 30);
  const dir = Deno.makeTempDirSync({ prefix: "evirt-bench-stats-" });
  const driver = await QemuDriver.create({
    runtimeDir: `${dir}/run`,
    logDir: `${dir}/log`,
    log: () => {},
  });
  const host = await Host.open({ store: createMemoryStore(), drivers: [driver], log: () => {} });
  const started: { pid: number; startTimeTicks: number }[] = [];
  let stoppedPid: number | undefined;
  try {
    const uuids: string[] = [];
    for (let index = 0; index < guests; index++) {
      const disk = `${dir}/disk-${index}.raw`;
      const file = await Deno.open(disk, { write: true, create: true });
      await file.truncate(64 * 1024 * 1024);
      file.close();
      const definition = guestDefinition(index, disk, true);
      await host.define(definition);
      await host.start(definition.name, { paused: true });
      const runtime = host.context(definition.name).runtime!;
      started.push({
        pid: runtime.pid as number,
        startTimeTicks: runtime.startTimeTicks as number,
      });
      uuids.push(definition.uuid!);
    }
    const reader = new StatsReader(host);
    await until("every guest's first sample", async () => {
      const records = await reader.domainStats({ nowait: true });
      return records.every((record) => record.sampleAgeMs !== null && !record.stale);
    });

    const projection = () => reader.domainStats({});
    // Each query is awaited before the next; a query that times out (a stopped QEMU) counts
    // its timeout and the pass goes on, as a per-call daemon that does answer would.
    let failedQueries = 0;
    const perCall = async () => {
      for (const uuid of uuids) {
        const qmp = driver.qmpOf(uuid);
        const queries = [
          () => qmp.queryBlockstats(),
          () => qmp.queryNamedBlockNodes(),
          () => qmp.queryBalloon(),
          () => qmp.queryCpusFast(),
        ];
        for (const query of queries) await query().catch(() => failedQueries++);
      }
    };
    // Warm-up: neither side pays for first calls in the figures.
    for (let round = 0; round < 3; round++) {
      await projection();
      await perCall();
    }
    const evirtMs: number[] = [];
    const baselineMs: number[] = [];
    for (let round = 0; round < rounds; round++) {
      evirtMs.push(await timed(projection));
      baselineMs.push(await timed(perCall));
    }
    if (failedQueries > 0) throw new Error(`${failedQueries} baseline queries failed`);
    const records = await projection();
    const keys = records.reduce((sum, record) => sum + record.stats.length, 0);

    stoppedPid = started[0].pid;
    Deno.kill(stoppedPid, "SIGSTOP");
    const stoppedName = "stats-0";
    const stoppedSince = performance.now();
    await until("the stopped guest's samples to turn stale", async () => {
      const [record] = await reader.domainStats({ domains: [stoppedName], groups: ["state"] });
      return record.stale;
    });
    const staleAfterMs = performance.now() - stoppedSince;
    const evirtStoppedMs: number[] = [];
    for (let round = 0; round < rounds; round++) evirtStoppedMs.push(await timed(projection));
    const stoppedRecords = await projection();
    const staleRecords = stoppedRecords.filter((record) => record.stale);
    const baselineStoppedMs: number[] = [];
    for (let pass = 0; pass < STOPPED_BASELINE_PASSES; pass++) {
      baselineStoppedMs.push(await timed(perCall));
    }
    Deno.kill(stoppedPid, "SIGCONT");
    stoppedPid = undefined;

    const speedup = median(baselineMs) / median(evirtMs);
    const libvirtRatio = LIBVIRT_DOMSTATS_20_MS / median(evirtMs);
    const stoppedLimitMs = median(evirtMs) * STOPPED_TOLERANCE_FACTOR + STOPPED_TOLERANCE_MS;
    console.log([
      `domstats of ${guests} QEMU guests (paused, 1 disk, balloon), all groups, ${rounds} calls each`,
      `evirt projection          ${
        medianSummary(evirtMs)
      }  (${records.length} records, ${keys} keys)`,
      `per-call QMP baseline     ${medianSummary(baselineMs)}  (4 queries × ${guests} domains)`,
      `speedup                   ${speedup.toFixed(1)}× (goal ≥ ${SPEEDUP_GOAL}×: ${
        speedup >= SPEEDUP_GOAL ? "met" : "MISSED"
      }); libvirt ${LIBVIRT_DOMSTATS_20_MS} ms for 20 guests → ${libvirtRatio.toFixed(1)}× evirt`,
      `one QEMU SIGSTOPped       stale after ${
        staleAfterMs.toFixed(0)
      } ms; ${staleRecords.length} record(s) stale (${
        staleRecords.map((record) => `${record.name}: ${record.staleReason}`).join("; ")
      })`,
      `  evirt projection        ${medianSummary(evirtStoppedMs)}  (same answer time, goal ≤ ${
        stoppedLimitMs.toFixed(2)
      } ms: ${median(evirtStoppedMs) <= stoppedLimitMs ? "met" : "MISSED"})`,
      `  per-call QMP baseline   ${
        medianSummary(baselineStoppedMs)
      }  (${failedQueries} queries timed out in ${STOPPED_BASELINE_PASSES} passes; libvirt does not answer at all)`,
    ].join("\n"));
  } finally {
    if (stoppedPid !== undefined) Deno.kill(stoppedPid, "SIGCONT");
    await host.close();
    for (const { pid, startTimeTicks } of started) {
      if (isProcessGone(pid, startTimeTicks)) continue;
      Deno.kill(pid, "SIGKILL");
      await waitForExit(pid, { startTimeTicks, timeoutMs: WAIT_TIMEOUT_MS });
    }
    Deno.removeSync(dir, { recursive: true });
  }
}

/** The projection over 20 domains of the test hypervisor, for `deno bench`. */
async function testHypervisorHost(): Promise<{ host: Host; reader: StatsReader }> {
  const host = await Host.open({
    store: createMemoryStore(),
    drivers: [new TestDriver()],
    log: () => {},
  });
  for (let index = 0; index < 20; index++) {
    const definition = guestDefinition(index, `/images/disk-${index}.raw`, false);
    definition.devices.disks.push({
      type: "file",
      source: { file: `/images/disk-${index}.raw`, hosts: [] },
      target: { dev: "vda", bus: "virtio" },
    });
    await host.define(definition);
    await host.start(definition.name);
  }
  return { host, reader: new StatsReader(host) };
}

if (import.meta.main) {
  await main();
} else {
  const { host, reader } = await testHypervisorHost();
  Deno.bench({
    name: "domstats projection, 20 test-hypervisor domains, all groups",
    async fn() {
      await reader.domainStats({});
    },
  });
  globalThis.addEventListener("unload", () => void host.close());
}
