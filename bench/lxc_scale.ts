/**
 * Many containers on one service: the real service process (`src/service/main.ts`) starts
 * `EVIRT_BENCH_CONTAINERS` (default 100) busybox containers whose init sleeps, then reports
 *
 * - the service's resident memory per container (VmRSS after the starts minus before, / N);
 * - the memory of each container's supervisor chain (socat, the supervisor shell, unshare), from
 *   `/proc/PID/status` of those processes, per container;
 * - the service's CPU use per running container over an idle window (its watch timers);
 * - how long `domstats` of all domains takes (median of a few calls).
 *
 * Usage: `deno run -A bench/lxc_scale.ts` as root. Every container is destroyed, and every
 * process of every container killed by pid, before the script ends.
 *
 * @module
 */

import { median, medianSummary } from "./_figures.ts";
import { LxcDriver } from "../drivers/lxc/lxc_driver.ts";
import { cgroupPids, cgroupRecord, planHostCgroup } from "../src/host/cgroups.ts";
import { parsePositiveInteger } from "../src/config/config.ts";
import { CLOCK_TICKS_PER_SECOND, readProcessStat } from "../src/host/process_state.ts";
import type { RuntimeRecord } from "../src/model/facts.ts";
import {
  removeServiceDirs,
  serviceDirs,
  type ServiceProcess,
  startServiceProcess,
} from "../tests/support/service_process.ts";
import { containerDefinition, killContainers } from "../tests/integration/_lxc_rig.ts";

const env = Deno.env.toObject();
const count = parsePositiveInteger(env, "EVIRT_BENCH_CONTAINERS", 100);
/** The idle window the service's CPU use is measured over, in ms. */
const IDLE_WINDOW_MS = 10_000;
/** domstats calls timed. */
const DOMSTATS_CALLS = 5;

const unavailable = LxcDriver.unavailableReason();
if (unavailable !== undefined) {
  console.log(`lxc_scale: skipped: ${unavailable}`);
  Deno.exit(0);
}

function rssKiB(pid: number): number {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

function cpuTicks(pid: number): number {
  const stat = readProcessStat(pid);
  return stat === undefined ? 0 : stat.userTimeTicks + stat.systemTimeTicks;
}

/** The supervisor chain of a container: the supervisor shell, its parent socat, its unshare. */
function chainPids(runDir: string, supervisorPid: number): number[] {
  const pids = [supervisorPid];
  const parent = readProcessStat(supervisorPid)?.ppid;
  if (parent !== undefined && parent > 1) pids.push(parent);
  try {
    pids.push(Number(Deno.readTextFileSync(`${runDir}/unshare.pid`).trim()));
  } catch {
    // Not started.
  }
  return pids;
}

const dirs = await serviceDirs();
const records: RuntimeRecord[] = [];
let service: ServiceProcess | undefined;
try {
  service = await startServiceProcess(dirs);
  const servicePid = service.child.pid;
  const rssBefore = rssKiB(servicePid);
  const startMs: number[] = [];
  const uuids: string[] = [];
  for (let index = 0; index < count; index++) {
    // An idle init: the figures are evirt's, not a busy workload's.
    const definition = containerDefinition(`scale-${index}`, {
      init: "/bin/sh",
      initArgs: ["-c", "while :; do sleep 3600; done"],
    });
    uuids.push(definition.uuid!);
    await service.client.define({ definition });
    const started = performance.now();
    await service.client.action(`scale-${index}`, "start");
    startMs.push(performance.now() - started);
    const runDir = `${dirs.runtimeDir}/lxc/${definition.uuid}`;
    const supervisorPid = Number(Deno.readTextFileSync(`${runDir}/supervisor.pid`).trim());
    records.push({ runDir, supervisorPid, ...cgroupRecord(planHostCgroup(definition.uuid!)) });
  }
  // Settle, then measure.
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const rssAfter = rssKiB(servicePid);
  const chainKiB = records.map((record) =>
    chainPids(String(record.runDir), Number(record.supervisorPid)).reduce(
      (sum, pid) => sum + rssKiB(pid),
      0,
    )
  );
  const ticksBefore = cpuTicks(servicePid);
  await new Promise((resolve) => setTimeout(resolve, IDLE_WINDOW_MS));
  const ticksAfter = cpuTicks(servicePid);
  const domstatsMs: number[] = [];
  for (let call = 0; call < DOMSTATS_CALLS; call++) {
    const started = performance.now();
    const stats = await service.client.domainStats({});
    domstatsMs.push(performance.now() - started);
    if (stats.length < count) throw new Error(`domstats answered ${stats.length} domains`);
  }
  const cpuPercent = ((ticksAfter - ticksBefore) / CLOCK_TICKS_PER_SECOND) /
    (IDLE_WINDOW_MS / 1000) * 100;
  console.log(`LXC scale: ${count} containers on one service`);
  console.log(`  start (API, each)            ${medianSummary(startMs, 1)}`);
  console.log(
    `  service RSS                  ${rssBefore} KiB before, ${rssAfter} KiB after: ${
      ((rssAfter - rssBefore) / count).toFixed(1)
    } KiB per container`,
  );
  console.log(
    `  supervisor chain RSS         median ${
      median(chainKiB).toFixed(0)
    } KiB per container (socat, sh, unshare)`,
  );
  console.log(
    `  service CPU while idle       ${cpuPercent.toFixed(2)} % of one CPU, ${
      (cpuPercent / count).toFixed(4)
    } % per container`,
  );
  console.log(`  domstats (all domains)       ${medianSummary(domstatsMs, 1)}`);
  for (let index = 0; index < count; index++) {
    await service.client.action(`scale-${index}`, "destroy");
  }
  const left = records.reduce(
    (sum, record) =>
      sum + cgroupPids(planHostCgroup(String(record.runDir).split("/").pop()!)).length,
    0,
  );
  console.log(`  processes left after destroying all: ${left}`);
} finally {
  await service?.stop("SIGKILL");
  await killContainers(records);
  await removeServiceDirs(dirs);
}
