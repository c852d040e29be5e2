/**
 * Peak memory of the service while many large defines arrive at once, with the request body
 * budget (`EVIRT_REQUEST_BODIES_MAX_BYTES`, default 64 MiB) beside the same run without a bound
 * worth the name (the baseline: a budget of 8 GiB).
 *
 * As a script (`deno run -A bench/body_memory_bench.ts`) it starts the real service three times
 * as a child process, sends `EVIRT_BENCH_DEFINES` (default 32) concurrent defines of distinct
 * domains, each `EVIRT_BENCH_DEFINE_MIB` MiB (default 4), and prints the service's peak resident
 * memory (`VmHWM`) before and after, with how many defines were answered 201 and how many 87 (no
 * room in the budget within its wait). Each domain keeps its definition, so the figure includes
 * what the service holds afterwards (32 × 4 MiB of descriptions, kept deflated), not only what a define holds
 * while it runs. Goals (issue: a global memory bound): with twice the defines at once, each extra
 * caller adds less than its own body to the peak (the bound: the peak does not follow the
 * callers), and our own target, the peak with the default budget at most
 * {@linkcode GOAL_PEAK_MIB} MiB.
 *
 * It also prints the highest resident memory seen while the service stops (sampled every
 * {@linkcode STOP_SAMPLE_MS} ms: the stop saves a snapshot of every definition), and, with
 * `EVIRT_BENCH_PADDING=words`, pads the descriptions with words of English-like text instead of
 * one repeated letter (which deflates about a thousandfold: kept definitions are deflated, see
 * src/model/compact_definition.ts, and words deflate about as XML does).
 *
 * @module
 */

import { parsePositiveInteger } from "../src/config/config.ts";
import { unixTransport } from "../src/client/client.ts";
import { paddingKind, paddingText } from "./_padding.ts";
import {
  removeServiceDirs,
  serviceDirs,
  startServiceProcess,
} from "../tests/support/service_process.ts";

const env = Deno.env.toObject();
const DEFINES = parsePositiveInteger(env, "EVIRT_BENCH_DEFINES", 32);
const DEFINE_MIB = parsePositiveInteger(env, "EVIRT_BENCH_DEFINE_MIB", 4);
const UNBOUNDED_BYTES = 8 * 1024 * 1024 * 1024;
const GOAL_PEAK_MIB = 300;
const PADDING = paddingKind(env);
const STOP_SAMPLE_MS = 10;

/** A valid definition of `bytes` bytes: the padding is a description libvirt keeps. */
function definition(bytes: number, index: number): string {
  const head =
    `<domain type='test'><name>big-${
      String(index).padStart(3, "0")
    }</name><memory>65536</memory><vcpu>1</vcpu>` +
    "<os><type>hvm</type></os><description>";
  const tail = "</description><devices/></domain>";
  return head + paddingText(PADDING, bytes - head.length - tail.length - 1, index) + tail;
}

function peakKiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/^VmHWM:\s+(\d+) kB$/m.exec(status)![1]);
}

/** The process's resident memory now; 0 once it is gone. */
function residentKiB(pid: number): number {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

async function run(
  budgetBytes: number,
  defines = DEFINES,
): Promise<
  { beforeKiB: number; afterKiB: number; stopKiB: number; codes: Map<string, number> }
> {
  const dirs = await serviceDirs();
  const service = await startServiceProcess(dirs, {
    EVIRT_XML_MAX_BYTES: String(DEFINE_MIB * 1024 * 1024),
    EVIRT_REQUEST_BODIES_MAX_BYTES: String(budgetBytes),
  });
  try {
    const beforeKiB = peakKiB(service.child.pid);
    const bodies = Array.from(
      { length: defines },
      (_, index) => definition(DEFINE_MIB * 1024 * 1024, index),
    );
    const send = unixTransport(`${dirs.runtimeDir}/evirt.sock`);
    const codes = new Map<string, number>();
    await Promise.all(bodies.map(async (body) => {
      let key: string;
      try {
        const response = await send.direct({
          method: "POST",
          target: "/v1/domains",
          headers: { "content-type": "application/xml" },
          body,
        });
        key = response.status < 300
          ? String(response.status)
          : `${response.status} ${
            JSON.stringify(
              ((await response.json()) as { error: { message: string } }).error.message,
            )
          }`;
        if (response.status < 300) await response.body?.cancel();
      } catch (error) {
        // The service answered (87: no turn within the wait) and closed before the whole body
        // was sent: the write fails with a broken pipe.
        key = `cut: ${(error as Error).name}`;
      }
      codes.set(key, (codes.get(key) ?? 0) + 1);
    }));
    const afterKiB = peakKiB(service.child.pid);
    let stopKiB = 0;
    const sampler = setInterval(() => {
      stopKiB = Math.max(stopKiB, residentKiB(service.child.pid));
    }, STOP_SAMPLE_MS);
    try {
      await service.stop("SIGTERM");
    } finally {
      clearInterval(sampler);
    }
    return { beforeKiB, afterKiB, stopKiB, codes };
  } finally {
    await service.stop("SIGTERM");
    await removeServiceDirs(dirs);
  }
}

function line(label: string, figures: Awaited<ReturnType<typeof run>>): string {
  const answers = [...figures.codes].map(([key, count]) => `${count}× ${key}`).join(", ");
  return `  ${label} peak RSS ${(figures.beforeKiB / 1024).toFixed(0)} → ${
    (figures.afterKiB / 1024).toFixed(0)
  } MiB, stop ${(figures.stopKiB / 1024).toFixed(0)} MiB  (${answers})`;
}

if (import.meta.main) {
  console.log(`${DEFINES} concurrent defines of ${DEFINE_MIB} MiB (padding: ${PADDING})`);
  const unbounded = await run(UNBOUNDED_BYTES);
  console.log(line("no bound (baseline):      ", unbounded));
  const bounded = await run(16 * DEFINE_MIB * 1024 * 1024);
  console.log(line(`budget ${16 * DEFINE_MIB} MiB (default): `, bounded));
  const peakMiB = bounded.afterKiB / 1024;
  const defined = bounded.codes.get("201") ?? 0;
  // Fewer definitions kept is less memory: the goal is judged only when every define got in.
  const verdict = defined < DEFINES
    ? `not judged: ${defined} of ${DEFINES} defines answered 201`
    : peakMiB <= GOAL_PEAK_MIB
    ? "met"
    : "missed";
  console.log(
    `  goal peak ≤ ${GOAL_PEAK_MIB} MiB with the default budget: ${verdict} (${
      peakMiB.toFixed(0)
    } MiB; load ${Deno.loadavg().map((x) => x.toFixed(1)).join(" ")})`,
  );
  const tight = await run(2 * DEFINE_MIB * 1024 * 1024);
  console.log(line(`budget ${2 * DEFINE_MIB} MiB:           `, tight));
  // The bound: twice as many callers at once, about the same peak. Without a bound each define
  // in flight holds several times its body; with it, an extra caller adds less than its own body
  // (what stays: its definition, deflated, and its fact in the log).
  const doubled = await run(16 * DEFINE_MIB * 1024 * 1024, 2 * DEFINES);
  console.log(line(`${2 * DEFINES} defines, default budget:`, doubled));
  const perCallerMiB = (doubled.afterKiB - bounded.afterKiB) / 1024 / DEFINES;
  console.log(
    `  bound: each of the ${DEFINES} more callers added ${
      perCallerMiB.toFixed(1)
    } MiB to the peak ` +
      `(${
        perCallerMiB < DEFINE_MIB ? "bounded" : "not bounded"
      }: less than its ${DEFINE_MIB} MiB body)`,
  );
}
