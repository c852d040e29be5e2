/**
 * Storage figures, each beside baselines measured in the same run.
 *
 * As a script (`deno run -A bench/storage_bench.ts`) it prints:
 * - creating N qcow2 volumes of 10 GiB in a `dir` pool through python3-libvirt (one connection):
 *   evirt vs the system libvirtd 9.0 (a pool of its own in a temporary folder) vs a shell loop of
 *   `qemu-img create` with the same arguments (the floor);
 * - `pool-refresh` of a pool holding M volumes (sparse raw files): evirt vs libvirtd, the median
 *   of five refreshes of the started pool.
 *
 * Sizes: `EVIRT_BENCH_STORAGE_VOLUMES` (1000), `EVIRT_BENCH_STORAGE_REFRESH` (10000). The
 * libvirtd column needs its socket and python3-libvirt; without them it says so. Every pool this
 * makes in libvirtd is named `evirt-bench-…` and removed at the end.
 *
 * @module
 */

import { parsePositiveInteger } from "../src/config/config.ts";
import {
  removeServiceDirs,
  serviceDirs,
  startServiceProcess,
} from "../tests/support/service_process.ts";
import { pythonLibvirtSkipReason, SYSTEM_PYTHON } from "../tests/support/python_libvirt.ts";
import { LIBVIRTD_SOCKET } from "../tests/support/libvirtd.ts";
import { exists } from "../tests/support/environment.ts";

const ENV = Deno.env.toObject();
const VOLUMES = parsePositiveInteger(ENV, "EVIRT_BENCH_STORAGE_VOLUMES", 1000);
const REFRESH_VOLUMES = parsePositiveInteger(ENV, "EVIRT_BENCH_STORAGE_REFRESH", 10000);
const CAPACITY_BYTES = 10 * 1024 ** 3;
/** Refreshes per pool; the median is printed (the machine is shared, single runs are noisy). */
const REFRESH_REPEATS = 5;
/** Bound on one measured run, in ms. */
const RUN_TIMEOUT_MS = 1_800_000;

/** Defines and starts a pool, creates `count` qcow2 volumes, refreshes; prints JSON seconds. */
const PYTHON = `
import sys, time, libvirt
uri, name, path, count, mode = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
conn = libvirt.open(uri)
pool = conn.storagePoolDefineXML(
  "<pool type='dir'><name>%s</name><target><path>%s</path></target></pool>" % (name, path))
try:
  pool.create(0)
  if mode == "create":
    started = time.monotonic()
    for i in range(count):
      pool.createXML("<volume><name>v%d.qcow2</name><capacity>${CAPACITY_BYTES}</capacity>"
                     "<target><format type='qcow2'/></target></volume>" % i, 0)
    print(time.monotonic() - started)
  else:
    times = []
    for _ in range(${REFRESH_REPEATS}):
      started = time.monotonic()
      pool.refresh(0)
      times.append(time.monotonic() - started)
      assert pool.numOfVolumes() == count, pool.numOfVolumes()
    print(sorted(times)[len(times) // 2])
finally:
  try:
    pool.destroy()
  except libvirt.libvirtError:
    pass
  pool.undefine()
`;

async function python(args: string[]): Promise<number> {
  const output = await new Deno.Command(SYSTEM_PYTHON, {
    args: ["-c", PYTHON, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(RUN_TIMEOUT_MS),
  }).output();
  if (output.code !== 0) throw new Error(new TextDecoder().decode(output.stderr));
  return Number(new TextDecoder().decode(output.stdout).trim());
}

async function shellLoop(dir: string, count: number): Promise<number> {
  await Deno.mkdir(dir, { recursive: true });
  const started = performance.now();
  const output = await new Deno.Command("sh", {
    args: [
      "-c",
      `i=0; while [ $i -lt ${count} ]; do qemu-img create -q -f qcow2 -o compat=0.10 ` +
      `"${dir}/v$i.qcow2" ${CAPACITY_BYTES / 1024}K || exit 1; i=$((i+1)); done`,
    ],
    signal: AbortSignal.timeout(RUN_TIMEOUT_MS),
  }).output();
  if (output.code !== 0) throw new Error("qemu-img loop failed");
  return (performance.now() - started) / 1000;
}

async function fill(dir: string, count: number): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  for (let i = 0; i < count; i++) {
    const file = await Deno.open(`${dir}/r${i}.img`, { write: true, create: true });
    await file.truncate(1024 * 1024);
    file.close();
  }
}

function rate(count: number, seconds: number): string {
  return `${seconds.toFixed(2)} s (${(count / seconds).toFixed(0)}/s)`;
}

const skipPython = pythonLibvirtSkipReason();
if (skipPython !== undefined) {
  console.log(`storage bench: ${skipPython}`);
  Deno.exit(0);
}
const libvirtd = exists(LIBVIRTD_SOCKET);
const dirs = await serviceDirs();
const base = dirs.stateDir.replace(/\/state$/, "");
const service = await startServiceProcess(dirs);
const evirtUri = `qemu+unix:///system?socket=${dirs.runtimeDir}/libvirt-sock`;
const tag = crypto.randomUUID().slice(0, 8);
try {
  console.log(`create ${VOLUMES} qcow2 volumes of 10 GiB:`);
  console.log(`  qemu-img loop: ${rate(VOLUMES, await shellLoop(`${base}/floor`, VOLUMES))}`);
  await Deno.mkdir(`${base}/evirt-create`);
  const mine = await python([
    evirtUri,
    `evirt-bench-c-${tag}`,
    `${base}/evirt-create`,
    String(VOLUMES),
    "create",
  ]);
  console.log(`  evirt:         ${rate(VOLUMES, mine)}`);
  if (libvirtd) {
    await Deno.mkdir(`${base}/libvirtd-create`);
    const theirs = await python([
      "qemu:///system",
      `evirt-bench-c-${tag}`,
      `${base}/libvirtd-create`,
      String(VOLUMES),
      "create",
    ]);
    console.log(`  libvirtd:      ${rate(VOLUMES, theirs)}`);
  } else {
    console.log(`  libvirtd:      no socket at ${LIBVIRTD_SOCKET}`);
  }
  await Deno.remove(`${base}/floor`, { recursive: true });

  console.log(`pool-refresh of ${REFRESH_VOLUMES} volumes:`);
  await fill(`${base}/refresh`, REFRESH_VOLUMES);
  const refreshMine = await python([
    evirtUri,
    `evirt-bench-r-${tag}`,
    `${base}/refresh`,
    String(REFRESH_VOLUMES),
    "refresh",
  ]);
  console.log(`  evirt:    ${refreshMine.toFixed(3)} s (median of ${REFRESH_REPEATS})`);
  if (libvirtd) {
    const refreshTheirs = await python([
      "qemu:///system",
      `evirt-bench-r-${tag}`,
      `${base}/refresh`,
      String(REFRESH_VOLUMES),
      "refresh",
    ]);
    console.log(`  libvirtd: ${refreshTheirs.toFixed(3)} s (median of ${REFRESH_REPEATS})`);
  }
} finally {
  await service.stop("SIGTERM");
  await removeServiceDirs(dirs);
}
