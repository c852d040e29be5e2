/**
 * Start-up time of the `evirt` command, each run a whole process under `deno run`, beside
 * `deno run` of an empty script measured in the same run (the runtime's own start-up):
 *
 * - `evirt version` (no connection needed),
 * - `evirt -c test:///default list --all` (the in-process test hypervisor),
 * - `evirt list` against a running service over its unix socket.
 *
 * Goal: each at most 60 ms over the empty script (median). As a script
 * (`deno run -A bench/cli_startup_bench.ts`) it prints medians; `EVIRT_BENCH_RUNS` sets the runs
 * per command (default 15). Under `deno bench` it registers the empty script and `evirt version`.
 *
 * @module
 */

import { median, medianSummary } from "./_figures.ts";
import { parsePositiveInteger } from "../src/config/config.ts";
import { startSocketService } from "../tests/support/socket_service.ts";

const GOAL_OVER_EMPTY_MS = 60;
const REPO_DIR = new URL("../", import.meta.url).pathname;
const CLI = `${REPO_DIR}src/cli/main.ts`;

/** Runs `deno run -A <args>` once and returns its wall time in ms; throws unless it succeeds. */
async function timedRun(args: string[], env: Record<string, string> = {}): Promise<number> {
  const started = performance.now();
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...args],
    cwd: REPO_DIR,
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const elapsedMs = performance.now() - started;
  if (!output.success) {
    throw new Error(
      `deno run ${args.join(" ")} failed: ${new TextDecoder().decode(output.stderr)}`,
    );
  }
  return elapsedMs;
}

async function main(): Promise<void> {
  const runs = parsePositiveInteger(Deno.env.toObject(), "EVIRT_BENCH_RUNS", 15);
  const empty = await Deno.makeTempFile({ prefix: "evirt-bench-empty-", suffix: ".ts" });
  const service = await startSocketService();
  try {
    await service.client.define({
      xml: "<domain type='test'><name>web</name><memory>65536</memory><vcpu>1</vcpu>" +
        "<os><type>hvm</type></os><devices/></domain>",
    });
    await service.core.host.start("web");
    const serviceEnv = { EVIRT_RUNTIME_DIR: service.dir, EVIRT_DEFAULT_URI: "evirt:///system" };
    // Interleaved rounds, so a slower phase of the machine hits every figure alike.
    const figures: Record<string, number[]> = { empty: [], version: [], test: [], service: [] };
    await timedRun([empty]);
    await timedRun([CLI, "version"]);
    for (let round = 0; round < runs; round++) {
      figures.empty.push(await timedRun([empty]));
      figures.version.push(await timedRun([CLI, "version"]));
      figures.test.push(await timedRun([CLI, "-c", "test:///default", "list", "--all"]));
      figures.service.push(await timedRun([CLI, "list"], serviceEnv));
    }
    const baseline = median(figures.empty);
    console.log(`CLI start-up, whole processes under deno run (${runs} runs each)`);
    console.log(`  empty script (baseline):              ${medianSummary(figures.empty, 1)}`);
    const rows: [string, number[]][] = [
      ["evirt version", figures.version],
      ["evirt -c test:///default list --all", figures.test],
      ["evirt list (running service)", figures.service],
    ];
    for (const [label, values] of rows) {
      const overMs = median(values) - baseline;
      console.log(
        `  ${label.padEnd(37)} ${medianSummary(values, 1)}; +${overMs.toFixed(1)} ms over empty ` +
          `(goal ≤ ${GOAL_OVER_EMPTY_MS} ms: ${overMs <= GOAL_OVER_EMPTY_MS ? "met" : "missed"})`,
      );
    }
  } finally {
    await service.stop();
    await Deno.remove(empty);
  }
}

if (import.meta.main) {
  await main();
} else {
  const empty = await Deno.makeTempFile({ prefix: "evirt-bench-empty-", suffix: ".ts" });
  Deno.bench({
    name: "deno run of an empty script",
    group: "cli start-up",
    baseline: true,
    n: 3,
    async fn() {
      await timedRun([empty]);
    },
  });
  Deno.bench({
    name: "evirt version",
    group: "cli start-up",
    n: 3,
    async fn() {
      await timedRun([CLI, "version"]);
    },
  });
  globalThis.addEventListener("unload", () => Deno.removeSync(empty));
}
