/**
 * Container lifecycle latencies of evirt's LXC driver beside the floor, measured in one run on
 * the busybox rootfs of `tests/fixtures/build_rootfs.sh` and its init (which writes its counter
 * to a file from its first loop):
 *
 * - start → init running: evirt `start` (facts durable in a SQLite log) until the init's first
 *   count is in the file, vs `unshare --fork --pid --mount --uts --ipc --net --mount-proc
 *   --root ROOTFS` of the same init (the floor: namespaces and exec, no cgroup, no console);
 * - destroy → all gone: evirt `destroy` (until its cgroup is empty and shut off is recorded) vs
 *   SIGKILL of the floor's `unshare --kill-child` until it has exited;
 * - libvirt's LXC driver (`virsh -c lxc:///system start/destroy`) of the same XML where it
 *   can start a container here; otherwise the reason it cannot is printed.
 *
 * Usage: `deno run -A bench/lxc_lifecycle.ts` as root; `EVIRT_BENCH_ITERATIONS` (default 10).
 * Every container started is killed by pid before the script ends.
 *
 * @module
 */

import { medianSummary } from "./_figures.ts";
import { Host } from "../actors/host.ts";
import { LxcDriver } from "../drivers/lxc/lxc_driver.ts";
import { parsePositiveInteger } from "../src/config/config.ts";
import { openSqliteStore } from "../src/log/sqlite_store.ts";
import { isProcessGone, waitForExit } from "../src/host/process_state.ts";
import type { RuntimeRecord } from "../src/model/facts.ts";
import {
  containerDefinition,
  killContainers,
  recordContainers,
  rootfsDir,
  TEST_INIT,
} from "../tests/integration/_lxc_rig.ts";

const ITERATIONS_DEFAULT = 10;
/** Bound on any one wait, in ms. */
const WAIT_TIMEOUT_MS = 10_000;
/** Pause between two looks at the counter file, in ms. */
const POLL_MS = 1;

const iterations = parsePositiveInteger(
  Deno.env.toObject(),
  "EVIRT_BENCH_ITERATIONS",
  ITERATIONS_DEFAULT,
);

const unavailable = LxcDriver.unavailableReason();
if (unavailable !== undefined) {
  console.log(`lxc_lifecycle: skipped: ${unavailable}`);
  Deno.exit(0);
}

/** Waits until the file has a counter, bounded. */
async function waitForCount(path: string): Promise<void> {
  const deadline = performance.now() + WAIT_TIMEOUT_MS;
  for (;;) {
    try {
      if (Deno.readTextFileSync(path).trim() !== "") return;
    } catch {
      // Not yet written.
    }
    if (performance.now() > deadline) throw new Error(`no counter in ${path}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function removeFile(path: string): void {
  try {
    Deno.removeSync(path);
  } catch {
    // Absent.
  }
}

/** The floor: unshare of the same init in the same root. */
async function floorRound(round: number): Promise<{ startMs: number; destroyMs: number }> {
  const countName = `/tmp/bench-floor-${Deno.pid}-${round}`;
  const countPath = `${rootfsDir}${countName}`;
  removeFile(countPath);
  const started = performance.now();
  const child = new Deno.Command("unshare", {
    args: [
      "--fork",
      "--kill-child",
      "--pid",
      "--mount",
      "--uts",
      "--ipc",
      "--net",
      "--mount-proc",
      "--root",
      rootfsDir,
      "/bin/env",
      "-i",
      `EVIRT_COUNT_FILE=${countName}`,
      TEST_INIT,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    await waitForCount(countPath);
    const startMs = performance.now() - started;
    const ending = performance.now();
    child.kill("SIGKILL");
    await child.status;
    return { startMs, destroyMs: performance.now() - ending };
  } finally {
    if (!isProcessGone(child.pid)) {
      child.kill("SIGKILL");
      await waitForExit(child.pid, { timeoutMs: WAIT_TIMEOUT_MS });
    }
    removeFile(countPath);
  }
}

/** evirt: start → the init counts, destroy → shut off with an empty cgroup. */
async function evirtRounds(): Promise<{ startMs: number[]; destroyMs: number[] }> {
  const dir = Deno.makeTempDirSync({ prefix: "evirt-lxc-bench-" });
  const store = await openSqliteStore(dir);
  const driver = new LxcDriver({ runtimeDir: `${dir}/run`, watchIntervalMs: 50 });
  const host = await Host.open({ store, drivers: [driver], log: () => {} });
  const records: RuntimeRecord[] = [];
  recordContainers(host, records);
  const startMs: number[] = [];
  const destroyMs: number[] = [];
  try {
    for (let round = 0; round < iterations; round++) {
      const name = `bench-ct-${round}`;
      const countName = `/tmp/bench-evirt-${Deno.pid}-${round}`;
      const countPath = `${rootfsDir}${countName}`;
      removeFile(countPath);
      await host.define(
        containerDefinition(name, { initEnv: { EVIRT_COUNT_FILE: countName } }),
      );
      const started = performance.now();
      await host.start(name);
      await waitForCount(countPath);
      startMs.push(performance.now() - started);
      const ending = performance.now();
      await host.destroy(name);
      destroyMs.push(performance.now() - ending);
      removeFile(countPath);
    }
  } finally {
    await host.close();
    await killContainers(records);
    Deno.removeSync(dir, { recursive: true });
  }
  return { startMs, destroyMs };
}

/** libvirt's LXC driver on the same XML, or the reason it cannot start a container here. */
async function libvirtRounds(): Promise<{ startMs: number[]; destroyMs: number[] } | string> {
  const virsh = (args: string[]) =>
    new Deno.Command("virsh", {
      args: ["-c", "lxc:///system", ...args],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(30_000),
    }).output();
  try {
    if (!(await virsh(["version"])).success) return "libvirtd's LXC driver does not answer";
  } catch (error) {
    return `virsh cannot run: ${(error as Error).message}`;
  }
  const name = "evirt-oracle-bench-ct";
  const xmlPath = Deno.makeTempFileSync({ suffix: ".xml" });
  Deno.writeTextFileSync(
    xmlPath,
    `<domain type='lxc'><name>${name}</name><memory unit='KiB'>65536</memory><vcpu>1</vcpu>` +
      `<os><type>exe</type><init>${TEST_INIT}</init></os><devices><filesystem type='mount'>` +
      `<source dir='${rootfsDir}'/><target dir='/'/></filesystem><console type='pty'/></devices></domain>`,
  );
  const startMs: number[] = [];
  const destroyMs: number[] = [];
  try {
    await virsh(["define", xmlPath]);
    for (let round = 0; round < iterations; round++) {
      const started = performance.now();
      const start = await virsh(["start", name]);
      if (!start.success) return new TextDecoder().decode(start.stderr).trim().split("\n").pop()!;
      startMs.push(performance.now() - started);
      const ending = performance.now();
      await virsh(["destroy", name]);
      destroyMs.push(performance.now() - ending);
    }
    return { startMs, destroyMs };
  } finally {
    await virsh(["destroy", name]);
    await virsh(["undefine", name]);
    Deno.removeSync(xmlPath);
  }
}

const floor = { startMs: [] as number[], destroyMs: [] as number[] };
for (let round = 0; round < iterations; round++) {
  const { startMs, destroyMs } = await floorRound(round);
  floor.startMs.push(startMs);
  floor.destroyMs.push(destroyMs);
}
const evirt = await evirtRounds();
const libvirt = await libvirtRounds();

console.log(`LXC lifecycle, ${iterations} rounds :`);
console.log(`  start → init running   floor (unshare) ${medianSummary(floor.startMs, 1)}`);
console.log(`                         evirt           ${medianSummary(evirt.startMs, 1)}`);
console.log(`  destroy → all gone     floor (unshare) ${medianSummary(floor.destroyMs, 1)}`);
console.log(`                         evirt           ${medianSummary(evirt.destroyMs, 1)}`);
if (typeof libvirt === "string") {
  console.log(`  libvirt's LXC driver: no figures, it cannot start a container here: ${libvirt}`);
} else {
  console.log(`  start (virsh)          libvirt         ${medianSummary(libvirt.startMs, 1)}`);
  console.log(`  destroy (virsh)        libvirt         ${medianSummary(libvirt.destroyMs, 1)}`);
}
