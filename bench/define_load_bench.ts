/**
 * API latency under define load, beside its same-run baseline (issue: one request must never
 * stall the others).
 *
 * As a script (`deno run -A bench/define_load_bench.ts`) it starts the service core on a
 * SQLite log behind a real unix socket, with the QEMU driver when `qemu-system-x86_64` is
 * installed (its define-time dry build is the costly part) and the test driver otherwise, and
 * prints the p50/p99/max latency of `GET /v1/version`:
 *
 * - with no other load (baseline);
 * - while a second caller (a child process) defines the largest accepted definition in a loop:
 *   every device kind the driver runs at or near its limit and the longest name
 *   (bench/_largest_definition.ts); goal p99 ≤ 20 ms;
 * - the same with a description filling the body up to the 4 MiB limit (the log's share of a
 *   define grows with the definition's size);
 * - while the second caller sends the 100,000-serial define of the issue in a loop (refused).
 *
 * Beside each loaded phase it prints the main thread's CPU time per define (the load's work on
 * the service's loop, the version calls' own share taken out): a figure that, unlike the
 * latencies, hardly moves when other programs load the machine. After the `devices` phase (so
 * warm) it also prints that figure with no version caller at all (8 s of defines alone), which
 * needs no share taken out and is the steadiest on a busy machine; then, 8 s more, the times the
 * service's loop was blocked by such defines (a 1 ms timer's late firings, bench/_loop_gaps.ts:
 * what a request arriving then would have waited, however the version calls happened to fall),
 * beside the same for 8 s with no define at all (what the machine's other programs cost the loop).
 *
 * It runs the service's loop with the service's V8 flags (`SERVICE_V8_FLAGS`, which set when
 * its garbage collections come): as a script it starts itself again with them, unless
 * `EVIRT_BENCH_SERVICE_FLAGS=0` (to give flags of your own, e.g. `--cpu-prof`).
 *
 * Sizes: `EVIRT_BENCH_CALLS` version calls per phase (default 400), one every
 * `EVIRT_BENCH_GAP_MS` ms (default 5). `EVIRT_BENCH_ROUNDS` (default 1) repeats the baseline and
 * the loaded phases alternately, so a machine whose load changes during the run shows it in
 * both. `EVIRT_BENCH_PHASES` picks phases by name, comma-separated: `devices` (the goal),
 * `size`, `hostile` (default all three; the baseline always runs). The log commits on its own
 * thread as the service's does; `EVIRT_BENCH_COMMIT_THREAD=0` commits on the main loop instead
 * (the figure before the thread, in the same run).
 *
 * @module
 */

import { percentile, percentileSummary } from "./_figures.ts";
import { largestDefinitionXml, largestDevices } from "./_largest_definition.ts";
import { paddingKind } from "./_padding.ts";
import { QemuDriver } from "../drivers/qemu/qemu_driver.ts";
import { TestDriver } from "../drivers/test/test_driver.ts";
import type { Driver } from "../actors/driver_protocol.ts";
import { serveApi } from "../src/api/server.ts";
import { EvirtClient, unixTransport } from "../src/client/client.ts";
import { parsePositiveInteger, XML_MAX_BYTES_DEFAULT } from "../src/config/config.ts";
import { findCommand } from "../src/service/find_command.ts";
import { openSqliteStore } from "../src/log/sqlite_store.ts";
import { createServiceCore } from "../src/service/service.ts";
import { SERVICE_V8_FLAGS } from "../src/service/memory_settings.ts";
import { loopGapSummary, startLoopGapProbe } from "./_loop_gaps.ts";

const GOAL_P99_MS = 20;
const UUID = "5a1e0000-0000-4000-8000-00000000b10c";

interface Rig {
  socketPath: string;
  driverName: string;
  stop(): Promise<void>;
}

async function rig(): Promise<Rig> {
  const dir = await Deno.makeTempDir({ prefix: "evirt-bench-define-" });
  const drivers: Driver[] = [new TestDriver()];
  const qemu = findCommand("qemu-system-x86_64") === undefined ? undefined : await QemuDriver
    .create({ runtimeDir: `${dir}/run`, logDir: `${dir}/log`, kvmUsable: false });
  if (qemu !== undefined) {
    qemu.prestartChecks();
    drivers.push(qemu);
  }
  // As the service opens it (src/service/service.ts), unless EVIRT_BENCH_COMMIT_THREAD=0.
  const store = await openSqliteStore(dir, {
    commitThread: Deno.env.get("EVIRT_BENCH_COMMIT_THREAD") !== "0",
  });
  const core = await createServiceCore({
    store,
    drivers,
    xmlMaxBytes: XML_MAX_BYTES_DEFAULT,
    log: () => {},
  });
  // As the service does before it accepts callers.
  core.definitionReader.prestart();
  const socketPath = `${dir}/evirt.sock`;
  const server = await serveApi(core.api, {
    socketPath,
    readOnlySocketPath: `${dir}/evirt-ro.sock`,
  });
  return {
    socketPath,
    driverName: qemu === undefined ? "test" : "qemu",
    async stop() {
      await server.shutdown();
      await core.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Latencies of `calls` version requests, one every `gapMs`, while `load` runs beside them. */
async function versionLatencies(
  client: EvirtClient,
  calls: number,
  gapMs: number,
): Promise<number[]> {
  const samples: number[] = [];
  for (let index = 0; index < calls; index++) {
    const started = performance.now();
    await client.version();
    samples.push(performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, gapMs));
  }
  return samples;
}

const DEFINE_LOOP_CHILD = new URL("./_define_loop.ts", import.meta.url).pathname;

/** A second caller in a child process that defines `body` in a loop; stop() ends it. */
async function startDefineLoop(
  socketPath: string,
  body: string,
  expectStatus: number,
): Promise<{ stop(): Promise<number[]>; bodyPath: string }> {
  const bodyPath = await Deno.makeTempFile({ prefix: "evirt-bench-define-body-" });
  await Deno.writeTextFile(bodyPath, body);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", DEFINE_LOOP_CHILD, socketPath, bodyPath, String(expectStatus)],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("ready")) {
    const { value, done } = await lines.read();
    if (done) throw new Error("the define loop ended before its first define");
    text += value;
  }
  return {
    bodyPath,
    async stop() {
      await child.stdin.close();
      for (;;) {
        const { value, done } = await lines.read();
        if (done) break;
        text += value;
      }
      const status = await child.status;
      await Deno.remove(bodyPath);
      if (!status.success) throw new Error("the define loop failed");
      return JSON.parse(text.slice(text.indexOf("ready") + "ready".length).trim());
    },
  };
}

/**
 * CPU time the main thread (the service's loop, the version caller beside it) has run, in ms,
 * from the kernel's scheduler statistics: unlike latencies, it hardly changes with what else the
 * machine runs. Undefined where /proc has no such file.
 */
function mainThreadCpuMs(): number | undefined {
  try {
    const text = Deno.readTextFileSync(`/proc/self/task/${Deno.pid}/schedstat`);
    return Number(text.split(" ")[0]) / 1e6;
  } catch {
    return undefined;
  }
}

/** Main-thread CPU of one version call without load, in ms (set by the baseline phase). */
let cpuPerCallMs: number | undefined;

async function phase(
  r: Rig,
  label: string,
  calls: number,
  gapMs: number,
  load?: { body: string; status: number },
): Promise<number[]> {
  const client = new EvirtClient(unixTransport(r.socketPath));
  await versionLatencies(client, 20, 1); // warm-up
  const cpuBefore = mainThreadCpuMs();
  const loader = load === undefined
    ? undefined
    : await startDefineLoop(r.socketPath, load.body, load.status);
  const samples = await versionLatencies(client, calls, gapMs);
  const msEach = loader === undefined ? [] : await loader.stop();
  const cpuMs = cpuBefore === undefined ? undefined : mainThreadCpuMs()! - cpuBefore;
  let cpuNote = "";
  if (cpuMs !== undefined && loader === undefined) {
    cpuPerCallMs = cpuMs / calls;
    cpuNote = `; main-thread CPU ${cpuPerCallMs.toFixed(2)} ms per call`;
  } else if (cpuMs !== undefined && cpuPerCallMs !== undefined && msEach.length > 0) {
    const perDefine = (cpuMs - cpuPerCallMs * calls) / msEach.length;
    cpuNote = `; main-thread CPU ${perDefine.toFixed(1)} ms per define`;
  }
  const defineNote = loader === undefined
    ? ""
    : `; ${msEach.length} defines beside it, each ${percentileSummary(msEach)}`;
  console.log(`  ${label}: ${percentileSummary(samples)}${defineNote}${cpuNote}`);
  return samples;
}

/**
 * Main-thread CPU per define with no version caller beside it: the loop runs for `seconds` while
 * the main thread only serves it, so the whole CPU delta is the defines' (no subtraction of a
 * baseline, which makes this the steadiest figure on a loaded machine).
 */
async function cpuPerDefinePhase(
  r: Rig,
  label: string,
  seconds: number,
  load: { body: string; status: number },
): Promise<void> {
  const cpuBefore = mainThreadCpuMs();
  if (cpuBefore === undefined) return;
  const loader = await startDefineLoop(r.socketPath, load.body, load.status);
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const msEach = await loader.stop();
  const cpuMs = mainThreadCpuMs()! - cpuBefore;
  console.log(
    `  ${label}, alone: main-thread CPU ${
      (cpuMs / msEach.length).toFixed(2)
    } ms per define over ${msEach.length} defines (each ${percentileSummary(msEach)})`,
  );
}

/**
 * The service loop's blocked times while `load` runs alone for `seconds`, or with no load at all
 * (what the machine's other programs cost it). A phase of its own: the probe's timer costs
 * main-thread CPU, which would count in the CPU per define.
 */
async function loopGapPhase(
  r: Rig,
  label: string,
  seconds: number,
  load?: { body: string; status: number },
): Promise<void> {
  const loader = load === undefined
    ? undefined
    : await startDefineLoop(r.socketPath, load.body, load.status);
  const probe = startLoopGapProbe();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const gaps = probe.stop();
  const msEach = loader === undefined ? [] : await loader.stop();
  const per = loader === undefined ? undefined : { count: msEach.length, unit: "define" };
  console.log(`  ${label}, loop probed: ${loopGapSummary(gaps, per)}`);
}

async function main(): Promise<void> {
  const env = Deno.env.toObject();
  const calls = parsePositiveInteger(env, "EVIRT_BENCH_CALLS", 400);
  const gapMs = parsePositiveInteger(env, "EVIRT_BENCH_GAP_MS", 5);
  const rounds = parsePositiveInteger(env, "EVIRT_BENCH_ROUNDS", 1);
  const chosen = new Set((env.EVIRT_BENCH_PHASES ?? "devices,size,hostile").split(","));
  const r = await rig();
  try {
    const ofDriver = (xml: string) =>
      xml.replace("<domain type='qemu'>", `<domain type='${r.driverName}'>`);
    const byDevices = ofDriver(largestDefinitionXml(0, UUID));
    const bySize = ofDriver(largestDefinitionXml(XML_MAX_BYTES_DEFAULT, UUID, paddingKind(env)));
    const hostile = `<domain type='${r.driverName}'><name>many</name><memory>65536</memory>` +
      `<os><type>hvm</type></os><devices>${
        "<serial type='null'/>".repeat(100_000)
      }</devices></domain>`;
    console.log(
      `GET /v1/version latency, ${r.driverName} driver; the largest definition has ${largestDevices().count} devices in ${byDevices.length} bytes`,
    );
    const loaded: number[] = [];
    for (let round = 1; round <= rounds; round++) {
      if (rounds > 1) console.log(` round ${round} of ${rounds}`);
      await phase(r, "no define load (baseline)", calls, gapMs);
      if (chosen.has("devices")) {
        loaded.push(
          ...await phase(r, "largest definition defined in a loop", calls, gapMs, {
            body: byDevices,
            status: 201,
          }),
        );
        await cpuPerDefinePhase(r, "largest definition defined in a loop", 8, {
          body: byDevices,
          status: 201,
        });
        await loopGapPhase(r, "no define load", 8);
        await loopGapPhase(r, "largest definition defined in a loop, alone", 8, {
          body: byDevices,
          status: 201,
        });
      }
      if (chosen.has("size")) {
        await phase(
          r,
          `same, with a description up to the 4 MiB body limit (${paddingKind(env)})`,
          calls,
          gapMs,
          {
            body: bySize,
            status: 201,
          },
        );
      }
      if (chosen.has("hostile")) {
        await phase(r, "100,000-serial define refused in a loop", calls, gapMs, {
          body: hostile,
          status: 400,
        });
      }
    }
    if (loaded.length === 0) return;
    const p99 = percentile([...loaded].sort((a, b) => a - b), 0.99);
    console.log(
      `  goal p99 ≤ ${GOAL_P99_MS} ms under the largest define, over every round: ${
        p99 <= GOAL_P99_MS ? "met" : "missed"
      } (${p99.toFixed(2)} ms)`,
    );
  } finally {
    await r.stop();
  }
}

/** Runs this script again under the service's V8 flags (see the module notes); its exit code. */
async function underServiceFlags(): Promise<number> {
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `--v8-flags=${SERVICE_V8_FLAGS}`, new URL(import.meta.url).pathname],
    env: { EVIRT_BENCH_SERVICE_FLAGS: "0" },
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  return code;
}

if (import.meta.main) {
  if (Deno.env.get("EVIRT_BENCH_SERVICE_FLAGS") === "0") await main();
  else Deno.exit(await underServiceFlags());
}
