/**
 * QEMU lifecycle latencies of evirt beside bare QEMU, measured in one run on the same empty
 * domain (128 MiB, 1 vCPU, no disks; the command line evirt generates for it):
 *
 * - start: bare `spawn -daemonize → QMP negotiation → cont` vs evirt `start` → running (booted),
 *   facts durable in a SQLite log (goal: ≤ bare + 25 ms);
 * - destroy: bare `SIGTERM → exit seen in /proc` vs evirt `destroy` → shut off (destroyed)
 *   (goal: ≤ bare + 10 ms);
 * - crash: `kill -9` of QEMU → STOPPED/failed recorded (goal: ≤ 100 ms);
 * - libvirt's `virsh start`/`virsh destroy` of the same kind of domain when `virsh` and a
 *   libvirtd answer on `qemu:///system` (reference figures otherwise: 282 ms and 206 ms).
 *
 * Usage: `deno run -A bench/qemu_lifecycle.ts`; `EVIRT_BENCH_ITERATIONS` (default 10) rounds.
 * Every QEMU started is killed by pid before the script ends.
 *
 * @module
 */

import { median, medianSummary, percentile } from "./_figures.ts";
import { Host } from "../actors/host.ts";
import { buildCommandLine } from "../drivers/qemu/command_line.ts";
import {
  isProcessGone,
  readPidFile,
  readProcessStat,
  waitForExit,
} from "../src/host/process_state.ts";
import { QmpCommands } from "../drivers/qemu/qmp_commands.ts";
import { QmpMonitor } from "../drivers/qemu/qmp_monitor.ts";
import { QemuDriver } from "../drivers/qemu/qemu_driver.ts";
import { parsePositiveInteger } from "../src/config/config.ts";
import { openSqliteStore } from "../src/log/sqlite_store.ts";
import { type DomainDefinition, emptyDevices } from "../src/model/domain.ts";
import { DomainState } from "../src/model/lifecycle.ts";

/** Rounds of each measurement unless `EVIRT_BENCH_ITERATIONS` says otherwise. */
const ITERATIONS_DEFAULT = 30;
/** Bound on any one wait, in milliseconds. */
const WAIT_TIMEOUT_MS = 10_000;
/** Goals, in milliseconds above the bare figure (start, destroy) or absolute (crash). */
const START_GOAL_OVER_BARE_MS = 25;
const DESTROY_GOAL_OVER_BARE_MS = 10;
const CRASH_GOAL_MS = 100;
/**
 * A destroy's tail above bare QEMU's tail in the same run: far below QEMU's SIGTERM grace (5 s),
 * which only a hung QEMU may use up.
 */
const DESTROY_P99_GOAL_OVER_BARE_MS = 50;
/** libvirt's figures measured on this kind of machine (reference §6), for when it is absent. */
const LIBVIRT_REFERENCE = { startMs: 282, destroyMs: 206 };

function emptyDomain(name: string, uuid: string): DomainDefinition {
  const devices = emptyDevices();
  devices.memballoon = { model: "none" };
  return {
    type: "qemu",
    name,
    uuid,
    memoryKiB: 128 * 1024,
    vcpus: 1,
    os: { type: "hvm", machine: "pc", boot: [] },
    devices,
  };
}

const formatTimes = (values: number[]) => medianSummary(values, 1);

/** `p99 X ms, max Y ms`: the tail a median hides (issue 10: one destroy in 10–20 took 5 s). */
function formatTail(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  return `p99 ${percentile(sorted, 0.99).toFixed(1)} ms, max ${
    sorted[sorted.length - 1].toFixed(1)
  } ms`;
}

/** Bare QEMU: the same command line, spawn → QMP → cont, then SIGTERM → exit. */
async function bareRound(dir: string, definition: DomainDefinition, round: number) {
  const runDir = `${dir}/bare-${round}`;
  Deno.mkdirSync(runDir);
  const line = buildCommandLine(definition, {
    emulator: "qemu-system-x86_64",
    accelerator: "tcg",
    monitorSocketPath: `${runDir}/monitor.sock`,
    pidFilePath: `${runDir}/qemu.pid`,
    sandbox: true,
    nowMs: Date.now(),
  });
  const started = performance.now();
  const output = await new Deno.Command("qemu-system-x86_64", {
    args: line.args,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) throw new Error(new TextDecoder().decode(output.stderr));
  const pid = await readPidFile(`${runDir}/qemu.pid`);
  const startTimeTicks = readProcessStat(pid)!.startTimeTicks;
  const monitor = await QmpMonitor.connect(`${runDir}/monitor.sock`);
  await new QmpCommands(monitor).cont();
  const startMs = performance.now() - started;
  const terminated = performance.now();
  Deno.kill(pid, "SIGTERM");
  await waitForExit(pid, { startTimeTicks, timeoutMs: WAIT_TIMEOUT_MS, pollIntervalMs: 1 });
  const destroyMs = performance.now() - terminated;
  await monitor.close();
  return { startMs, destroyMs, identity: { pid, startTimeTicks } };
}

/** evirt: start → running, destroy → shut off, and kill -9 → STOPPED/failed. */
async function evirtRound(host: Host, name: string) {
  const started = performance.now();
  await host.start(name);
  const startMs = performance.now() - started;
  const destroyed = performance.now();
  await host.destroy(name);
  const destroyMs = performance.now() - destroyed;
  await host.start(name);
  const pid = host.context(name).runtime!.pid as number;
  const startTimeTicks = host.context(name).runtime!.startTimeTicks as number;
  const killed = performance.now();
  Deno.kill(pid, "SIGKILL");
  await host.waitFor(
    host.lookup(name).uuid,
    (summary) => summary.state === DomainState.SHUTOFF,
    WAIT_TIMEOUT_MS,
  );
  const crashMs = performance.now() - killed;
  return { startMs, destroyMs, crashMs, identity: { pid, startTimeTicks } };
}

/** libvirt, when a `virsh` and a libvirtd answer here. */
async function libvirtFigures(dir: string, iterations: number) {
  const virsh = async (args: string[]): Promise<Deno.CommandOutput | undefined> => {
    try {
      return await new Deno.Command("virsh", {
        args: ["-c", "qemu:///system", ...args],
        stdout: "piped",
        stderr: "piped",
      }).output();
    } catch {
      return undefined;
    }
  };
  const probe = await virsh(["version"]);
  if (probe === undefined || !probe.success) return undefined;
  const xml = `<domain type='qemu'><name>evirt-bench</name><memory unit='MiB'>128</memory>
<vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os>
<devices><memballoon model='none'/></devices></domain>`;
  Deno.writeTextFileSync(`${dir}/libvirt.xml`, xml);
  if (!(await virsh(["define", `${dir}/libvirt.xml`]))?.success) return undefined;
  const start: number[] = [];
  const destroy: number[] = [];
  try {
    for (let round = 0; round < iterations; round++) {
      let at = performance.now();
      if (!(await virsh(["start", "evirt-bench"]))?.success) return undefined;
      start.push(performance.now() - at);
      at = performance.now();
      await virsh(["destroy", "evirt-bench"]);
      destroy.push(performance.now() - at);
    }
  } finally {
    await virsh(["destroy", "evirt-bench"]);
    await virsh(["undefine", "evirt-bench"]);
  }
  return { start, destroy };
}

async function main(): Promise<void> {
  const iterations = parsePositiveInteger(
    Deno.env.toObject(),
    "EVIRT_BENCH_ITERATIONS",
    ITERATIONS_DEFAULT,
  );
  const dir = Deno.makeTempDirSync({ prefix: "evirt-bench-qemu-" });
  const leftovers: { pid: number; startTimeTicks: number }[] = [];
  const driver = await QemuDriver.create({
    runtimeDir: `${dir}/run`,
    logDir: `${dir}/log`,
    log: () => {},
  });
  Deno.mkdirSync(`${dir}/state`);
  const store = await openSqliteStore(`${dir}/state`);
  const host = await Host.open({ store, drivers: [driver], log: () => {} });
  const definition = emptyDomain("bench", "00000000-0000-4000-a000-000000000001");
  await host.define(definition);
  const bare = { start: [] as number[], destroy: [] as number[] };
  const evirt = { start: [] as number[], destroy: [] as number[], crash: [] as number[] };
  try {
    // One warm-up of each, so neither side pays for cold caches in the figures.
    leftovers.push((await bareRound(dir, definition, -1)).identity);
    leftovers.push((await evirtRound(host, "bench")).identity);
    for (let round = 0; round < iterations; round++) {
      const bareResult = await bareRound(dir, definition, round);
      leftovers.push(bareResult.identity);
      bare.start.push(bareResult.startMs);
      bare.destroy.push(bareResult.destroyMs);
      const evirtResult = await evirtRound(host, "bench");
      leftovers.push(evirtResult.identity);
      evirt.start.push(evirtResult.startMs);
      evirt.destroy.push(evirtResult.destroyMs);
      evirt.crash.push(evirtResult.crashMs);
    }
    const libvirt = await libvirtFigures(dir, iterations);
    const startOver = median(evirt.start) - median(bare.start);
    const destroyOver = median(evirt.destroy) - median(bare.destroy);
    const p99 = (values: number[]) => percentile([...values].sort((a, b) => a - b), 0.99);
    const destroyTailOver = p99(evirt.destroy) - p99(bare.destroy);
    const lines = [
      `QEMU lifecycle, ${iterations} rounds, empty domain (128 MiB, 1 vCPU, TCG)`,
      `start    bare QEMU spawn→QMP→cont  ${formatTimes(bare.start)}`,
      `         evirt start → running     ${formatTimes(evirt.start)}  (+${
        startOver.toFixed(1)
      } ms; goal ≤ +${START_GOAL_OVER_BARE_MS}: ${
        startOver <= START_GOAL_OVER_BARE_MS ? "met" : "MISSED"
      })`,
      `destroy  bare SIGTERM → exit       ${formatTimes(bare.destroy)}; ${
        formatTail(bare.destroy)
      }`,
      `         evirt destroy → shut off  ${formatTimes(evirt.destroy)}  (+${
        destroyOver.toFixed(1)
      } ms; goal ≤ +${DESTROY_GOAL_OVER_BARE_MS}: ${
        destroyOver <= DESTROY_GOAL_OVER_BARE_MS ? "met" : "MISSED"
      })`,
      `         evirt destroy tail        ${formatTail(evirt.destroy)}  (p99 ${
        destroyTailOver >= 0 ? "+" : ""
      }${destroyTailOver.toFixed(1)} ms; goal ≤ +${DESTROY_P99_GOAL_OVER_BARE_MS}: ${
        destroyTailOver <= DESTROY_P99_GOAL_OVER_BARE_MS ? "met" : "MISSED"
      })`,
      `crash    kill -9 → STOPPED/failed  ${
        formatTimes(evirt.crash)
      }  (goal ≤ ${CRASH_GOAL_MS} ms: ${median(evirt.crash) <= CRASH_GOAL_MS ? "met" : "MISSED"})`,
      libvirt === undefined
        ? `libvirt  not available here (virsh/libvirtd); reference: start ≈ ${LIBVIRT_REFERENCE.startMs} ms, destroy ≈ ${LIBVIRT_REFERENCE.destroyMs} ms`
        : `libvirt  start ${formatTimes(libvirt.start)}; destroy ${formatTimes(libvirt.destroy)}`,
    ];
    console.log(lines.join("\n"));
  } finally {
    await host.close();
    await store.close();
    for (const { pid, startTimeTicks } of leftovers) {
      if (isProcessGone(pid, startTimeTicks)) continue;
      Deno.kill(pid, "SIGKILL");
      await waitForExit(pid, { startTimeTicks, timeoutMs: WAIT_TIMEOUT_MS });
    }
    Deno.removeSync(dir, { recursive: true });
  }
}

if (import.meta.main) await main();
