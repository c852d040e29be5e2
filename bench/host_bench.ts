/**
 * The core's figures on this machine, each beside its simplest same-run baseline.
 *
 * As a script (`deno run -A --v8-flags=--expose-gc bench/host_bench.ts`) it prints:
 * - start+destroy/s on the test hypervisor across 64 domains driven concurrently, durable
 *   (goal ≥ 5,600/s), beside one domain driven alone and beside 64 on the in-memory log;
 * - resident memory per defined domain (goal ≤ 25 KiB) for 10,000 typical definitions;
 * - recovery time for 10,000 domains / 1,000,000 facts with a snapshot (goal ≤ 2 s), beside
 *   the same recovery replaying every fact.
 *
 * Sizes: `EVIRT_BENCH_CYCLES`, `EVIRT_BENCH_DOMAINS`, `EVIRT_BENCH_FACTS`. Under `deno bench` it
 * registers smaller versions of the start+destroy comparison.
 *
 * @module
 */

import { withSqliteStore } from "./_temp_store.ts";
import { Host } from "../actors/host.ts";
import { TestDriver } from "../drivers/test/test_driver.ts";
import { parsePositiveInteger } from "../src/config/config.ts";
import type { AppendRequest, EventStore } from "../src/log/event_store.ts";
import { createMemoryStore } from "../src/log/memory_store.ts";
import { openSqliteStore } from "../src/log/sqlite_store.ts";
import { applyDomainDefaults } from "../src/model/domain_defaults.ts";
import type { DomainDefinition } from "../src/model/domain.ts";
import { domainStream } from "../src/model/facts.ts";
import { parseDomainXml } from "../src/xml/mod.ts";

const CONCURRENT_DOMAINS = 64;
const GOAL_CYCLES_PER_SECOND = 5_600;
const GOAL_KIB_PER_DOMAIN = 25;
const GOAL_RECOVERY_MS = 2_000;
/** Facts appended after the snapshot before recovery: half the host's snapshot interval. */
const TAIL_FACTS_AFTER_SNAPSHOT = 25_000;

/** A typical definition: disk, cdrom, NIC, serial console, VNC, video, balloon. */
const TYPICAL_XML = (index: number) =>
  `<domain type='test'>
  <name>vm-${index}</name>
  <uuid>${uuidOf(index)}</uuid>
  <title>Web server ${index}</title>
  <memory unit='MiB'>2048</memory>
  <currentMemory unit='MiB'>2048</currentMemory>
  <vcpu placement='static'>2</vcpu>
  <os>
    <type arch='x86_64' machine='pc-q35-7.2'>hvm</type>
    <boot dev='hd'/>
  </os>
  <features><acpi/><apic/></features>
  <cpu mode='host-model'/>
  <clock offset='utc'><timer name='rtc' tickpolicy='catchup'/></clock>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' cache='none'/>
      <source file='/var/lib/evirt/images/vm-${index}.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <target dev='sda' bus='sata'/>
      <readonly/>
    </disk>
    <interface type='network'>
      <mac address='52:54:00:${hex(index >> 16)}:${hex(index >> 8)}:${hex(index)}'/>
      <source network='default'/>
      <model type='virtio'/>
    </interface>
    <serial type='pty'><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <graphics type='vnc' port='-1' autoport='yes'/>
    <video><model type='virtio' heads='1'/></video>
    <memballoon model='virtio'/>
  </devices>
</domain>`;

function hex(value: number): string {
  return (value & 0xff).toString(16).padStart(2, "0");
}

function uuidOf(index: number): string {
  return `b0000000-0000-4000-8000-${index.toString(16).padStart(12, "0")}`;
}

function typicalDefinition(index: number): DomainDefinition {
  return applyDomainDefaults(parseDomainXml(TYPICAL_XML(index)));
}

function minimalDefinition(index: number): DomainDefinition {
  return applyDomainDefaults(parseDomainXml(
    `<domain type='test'><name>c${index}</name><uuid>${uuidOf(index)}</uuid>` +
      `<memory>65536</memory><vcpu>1</vcpu><os><type>hvm</type></os><devices/></domain>`,
  ));
}

/** start+destroy cycles per second with `domains` domains driven concurrently. */
async function cyclesPerSecond(
  store: EventStore,
  domains: number,
  cycles: number,
): Promise<number> {
  const host = await Host.open({ store, drivers: [new TestDriver()], log: () => {} });
  for (let index = 0; index < domains; index++) await host.define(minimalDefinition(index));
  const perDomain = Math.ceil(cycles / domains);
  const started = performance.now();
  await Promise.all(Array.from({ length: domains }, async (_, index) => {
    const name = `c${index}`;
    for (let cycle = 0; cycle < perDomain; cycle++) {
      await host.start(name);
      await host.destroy(name);
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  await host.close();
  return (perDomain * domains) / seconds;
}

function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("run with --v8-flags=--expose-gc");
  gc();
  gc();
}

/**
 * Heap and resident memory of a fresh process holding a host with `domains` typical domains
 * defined, after garbage collection (run in a child: `--memory-child N`).
 */
async function memoryOfHost(domains: number): Promise<{ heapBytes: number; rssBytes: number }> {
  return await withSqliteStore(async (store) => {
    const host = await Host.open({
      store,
      drivers: [new TestDriver()],
      snapshotEveryFacts: 0,
      log: () => {},
    });
    for (let index = 0; index < domains; index++) await host.define(typicalDefinition(index));
    if (host.list().length !== domains) throw new Error("domains missing");
    collectGarbage();
    const usage = Deno.memoryUsage();
    await host.close();
    return { heapBytes: usage.heapUsed, rssBytes: usage.rss };
  });
}

/** Per-domain memory: a child with `domains` domains against a child with none. */
async function memoryPerDomain(domains: number): Promise<{ heapKiB: number; rssKiB: number }> {
  const child = async (count: number) => {
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--v8-flags=--expose-gc",
        new URL(import.meta.url).pathname,
        "--memory-child",
        String(count),
      ],
      stdout: "piped",
      stderr: "inherit",
    }).output();
    if (!output.success) throw new Error("memory child failed");
    return JSON.parse(new TextDecoder().decode(output.stdout)) as {
      heapBytes: number;
      rssBytes: number;
    };
  };
  const empty = await child(0);
  const full = await child(domains);
  return {
    heapKiB: (full.heapBytes - empty.heapBytes) / 1024 / domains,
    rssKiB: (full.rssBytes - empty.rssBytes) / 1024 / domains,
  };
}

/** Writes `facts` facts for `domains` domains straight into the log, as a long life would. */
async function fillLog(store: EventStore, domains: number, facts: number): Promise<void> {
  const perDomain = Math.floor(facts / domains);
  let id = 1;
  const lifeOf = (index: number): { type: string; body: never }[] => {
    const life: { type: string; body: never }[] = [
      {
        type: "domain.defined",
        body: { definition: typicalDefinition(index), detail: "added" } as never,
      },
    ];
    const cycle = [
      () => ({
        type: "domain.launched",
        body: {
          id: id++,
          definition: null,
          persistent: true,
          runtime: { driver: "test", launchedAtMs: 0 },
        },
      }),
      () => ({ type: "domain.started", body: { detail: "booted", reason: "booted" } }),
      () => ({ type: "domain.suspended", body: { detail: "paused", reason: "user" } }),
      () => ({ type: "domain.resumed", body: { detail: "unpaused", reason: "unpaused" } }),
      () => ({ type: "domain.stopped", body: { detail: "destroyed", reason: "destroyed" } }),
    ];
    // Lives end shut off, so recovery needs no reconcile work: the figure is the fold's.
    while (life.length + cycle.length <= perDomain) {
      for (const make of cycle) life.push(make() as never);
    }
    while (life.length < perDomain) {
      life.push({
        type: "domain.metadata_changed",
        body: { kind: "title", value: `t${life.length}`, live: false, config: true } as never,
      });
    }
    return life;
  };
  const batch: AppendRequest[] = [];
  let batchFacts = 0;
  for (let index = 0; index < domains; index++) {
    const life = lifeOf(index);
    for (let offset = 0; offset < life.length; offset += 100) {
      const facts = life.slice(offset, offset + 100);
      batch.push({ stream: domainStream(uuidOf(index)), facts, expectedVersion: offset });
      batchFacts += facts.length;
      if (batchFacts >= 900) {
        await store.appendMany(batch.splice(0));
        batchFacts = 0;
      }
    }
  }
  if (batch.length > 0) await store.appendMany(batch);
}

async function recovery(domains: number, facts: number): Promise<Record<string, number>> {
  const dir = await Deno.makeTempDir({ prefix: "evirt-bench-recovery-" });
  try {
    let store = await openSqliteStore(dir);
    await fillLog(store, domains, facts);
    const head = store.headPosition();
    // Baseline: replay every fact (no snapshot).
    let started = performance.now();
    let host = await Host.open({
      store,
      drivers: [new TestDriver()],
      snapshotEveryFacts: 0,
      log: () => {},
    });
    const replayAllMs = performance.now() - started;
    const listed = host.list().length;
    await host.saveSnapshot();
    await host.close();
    // A tail after the snapshot, as a crashed service leaves between snapshots.
    const tail: AppendRequest[] = [];
    for (let index = 0; index < TAIL_FACTS_AFTER_SNAPSHOT; index++) {
      tail.push({
        stream: domainStream(uuidOf(index % domains)),
        facts: [{
          type: "domain.metadata_changed",
          body: { kind: "title", value: `tail ${index}`, live: false, config: true },
        }],
        expectedVersion: "any",
      });
      if (tail.length === 500) await store.appendMany(tail.splice(0));
    }
    if (tail.length > 0) await store.appendMany(tail);
    await store.close();
    store = await openSqliteStore(dir);
    started = performance.now();
    host = await Host.open({
      store,
      drivers: [new TestDriver()],
      snapshotEveryFacts: 0,
      log: () => {},
    });
    const withSnapshotMs = performance.now() - started;
    const relisted = host.list().length;
    await host.close();
    await store.close();
    if (listed !== domains || relisted !== domains) throw new Error("recovery lost domains");
    return { head, replayAllMs, withSnapshotMs };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function format(value: number): string {
  return Math.round(value).toLocaleString("en-US");
}

async function main(): Promise<void> {
  const env = Deno.env.toObject();
  const cycles = parsePositiveInteger(env, "EVIRT_BENCH_CYCLES", 40_000);
  const domains = parsePositiveInteger(env, "EVIRT_BENCH_DOMAINS", 10_000);
  const facts = parsePositiveInteger(env, "EVIRT_BENCH_FACTS", 1_000_000);

  console.log("start+destroy on the test hypervisor");
  const single = await withSqliteStore((store) => cyclesPerSecond(store, 1, Math.ceil(cycles / 8)));
  const many = await withSqliteStore((store) => cyclesPerSecond(store, CONCURRENT_DOMAINS, cycles));
  const memoryLog = await cyclesPerSecond(createMemoryStore(), CONCURRENT_DOMAINS, cycles);
  console.log(`  1 domain, durable (baseline):    ${format(single)}/s`);
  console.log(
    `  64 domains, durable:             ${format(many)}/s  (goal ≥ ${
      format(GOAL_CYCLES_PER_SECOND)
    }/s: ${many >= GOAL_CYCLES_PER_SECOND ? "met" : "missed"})`,
  );
  console.log(
    `  64 domains, in-memory log:       ${format(memoryLog)}/s  (not durable, upper bound)`,
  );

  console.log(`memory per defined domain (${format(domains)} typical definitions)`);
  const memory = await memoryPerDomain(domains);
  console.log(
    `  resident: ${memory.rssKiB.toFixed(1)} KiB/domain  (goal ≤ ${GOAL_KIB_PER_DOMAIN} KiB: ${
      memory.rssKiB <= GOAL_KIB_PER_DOMAIN ? "met" : "missed"
    }; baseline: the same process with no domain)`,
  );
  console.log(`  JS heap:  ${memory.heapKiB.toFixed(1)} KiB/domain`);

  console.log(`recovery of ${format(domains)} domains / ${format(facts)} facts`);
  const figures = await recovery(domains, facts);
  console.log(`  log head: ${format(figures.head)} facts`);
  console.log(`  replaying every fact (baseline): ${format(figures.replayAllMs)} ms`);
  console.log(
    `  from a snapshot + ${format(TAIL_FACTS_AFTER_SNAPSHOT)} facts: ${
      format(figures.withSnapshotMs)
    } ms  (goal ≤ ${format(GOAL_RECOVERY_MS)} ms: ${
      figures.withSnapshotMs <= GOAL_RECOVERY_MS ? "met" : "missed"
    })`,
  );
}

if (import.meta.main && Deno.args[0] === "--memory-child") {
  console.log(JSON.stringify(await memoryOfHost(Number(Deno.args[1]))));
} else if (import.meta.main) {
  await main();
} else {
  Deno.bench({
    name: "start+destroy, 1 domain, durable",
    group: "cycles",
    baseline: true,
    n: 1,
    async fn() {
      await withSqliteStore((store) => cyclesPerSecond(store, 1, 200));
    },
  });
  Deno.bench({
    name: "start+destroy, 64 domains, durable",
    group: "cycles",
    n: 1,
    async fn() {
      await withSqliteStore((store) => cyclesPerSecond(store, CONCURRENT_DOMAINS, 2000));
    },
  });
}
