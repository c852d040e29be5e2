/**
 * libvirt-protocol figures, each beside a baseline measured in the same run.
 *
 * As a script (`deno run -A bench/rpc_bench.ts`) it prints:
 * - python3-libvirt `lookupByName` + `info()` calls/s over the socket, 1 and 8 client threads
 *   (one connection each), against evirt and against libvirtd 9.0's QEMU driver holding the same
 *   domains (goal: ≥ libvirtd);
 * - `virsh list --all` wall time with the same defined domains, evirt vs libvirtd (goal:
 *   ≤ libvirtd);
 * - event delivery: time from a fact being durable to each of 10 RPC clients reading its
 *   lifecycle message, p50/p99 (goal p99 ≤ 10 ms), beside 10 SSE subscribers under the same load.
 *
 * libvirtd runs unprivileged (as `nobody`, session mode) under `tini -s` with every directory
 * (`XDG_*`, `HOME`) in a temporary folder, so it touches nothing else; without root, libvirtd,
 * tini, setpriv or virsh the libvirtd column says so. Every child is ended by pid.
 *
 * Sizes: `EVIRT_BENCH_RPC_DOMAINS` (1000), `EVIRT_BENCH_RPC_SECONDS` (3 per figure),
 * `EVIRT_BENCH_RPC_EVENTS` (10,000), `EVIRT_BENCH_RPC_CLIENTS` (10); `EVIRT_BENCH_RPC_PARTS`
 * (`clients,events`) picks the sections.
 *
 * @module
 */

import { measureDeliveries, PRODUCER_DOMAINS, startProducers } from "./_event_delivery.ts";
import { median, percentile, percentileSummary } from "./_figures.ts";
import { parsePositiveInteger } from "../src/config/config.ts";
import { findCommand } from "../src/service/find_command.ts";
import { serveRpc } from "../src/rpc/server.ts";
import { EVENT_STREAM_DEFAULTS } from "../src/service/service.ts";
import { TEST_NODE_INFO } from "../drivers/test/test_driver.ts";
import { type SocketService, startSocketService } from "../tests/support/socket_service.ts";
import {
  removeServiceDirs,
  serviceDirs,
  startServiceProcess,
} from "../tests/support/service_process.ts";
import { pythonLibvirtSkipReason, SYSTEM_PYTHON } from "../tests/support/python_libvirt.ts";

const GOAL_EVENT_P99_MS = 10;
/** Bound on any one wait, in ms. */
const WAIT_TIMEOUT_MS = 120_000;
/** `virsh list --all` runs per side. */
const LIST_RUNS = 5;

const SUBSCRIBERS_SSE = new URL("./_sse_subscribers.ts", import.meta.url).pathname;
const SUBSCRIBERS_RPC = new URL("./_rpc_subscribers.ts", import.meta.url).pathname;

const DOMAIN_XML = (name: string) =>
  `<domain type='qemu'><name>${name}</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>` +
  `<os><type arch='x86_64' machine='pc'>hvm</type></os>` +
  `<devices><memballoon model='none'/></devices></domain>`;

const PYTHON_DEFINE = `
import sys, libvirt
conn = libvirt.open(sys.argv[1])
for i in range(int(sys.argv[2])):
    conn.defineXML(sys.stdin.readline())
`;

const PYTHON_CALLS = `
import sys, threading, time, libvirt
uri, threads, seconds, domains = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
counts = [0] * threads
conns = [libvirt.open(uri) for _ in range(threads)]
start = threading.Barrier(threads + 1)
stop_at = [0.0]
def work(index):
    conn = conns[index]
    start.wait()
    i = index
    while time.monotonic() < stop_at[0]:
        conn.lookupByName("b%d" % (i % domains)).info()
        counts[index] += 1
        i += threads
workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
for worker in workers: worker.start()
stop_at[0] = time.monotonic() + seconds
start.wait()
began = time.monotonic()
for worker in workers: worker.join()
print(sum(counts) / (time.monotonic() - began))
`;

async function python(script: string, args: string[], stdin?: string): Promise<string> {
  const child = new Deno.Command(SYSTEM_PYTHON, {
    args: ["-c", script, ...args],
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(WAIT_TIMEOUT_MS),
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  }
  const output = await child.output();
  if (!output.success) throw new Error(new TextDecoder().decode(output.stderr));
  return new TextDecoder().decode(output.stdout).trim();
}

/** The figures of one server: calls/s at 1 and 8 threads, and `virsh list --all` times. */
async function serverFigures(uri: string, domains: number, seconds: number) {
  const names = Array.from({ length: domains }, (_, index) => DOMAIN_XML(`b${index}`));
  await python(PYTHON_DEFINE, [uri, String(domains)], names.join("\n") + "\n");
  const calls1 = Number(await python(PYTHON_CALLS, [uri, "1", String(seconds), String(domains)]));
  const calls8 = Number(await python(PYTHON_CALLS, [uri, "8", String(seconds), String(domains)]));
  const listMs: number[] = [];
  for (let run = 0; run < LIST_RUNS; run++) {
    const started = performance.now();
    const output = await new Deno.Command("virsh", {
      args: ["-c", uri, "list", "--all"],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(WAIT_TIMEOUT_MS),
    }).output();
    listMs.push(performance.now() - started);
    const lines = new TextDecoder().decode(output.stdout).split("\n").length;
    if (!output.success || lines < domains) throw new Error(`virsh list failed on ${uri}`);
  }
  return { calls1, calls8, listMs };
}

/** libvirtd in session mode as `nobody`, all its folders in `dir`; undefined when not possible. */
async function startLibvirtd(dir: string) {
  const missing = ["libvirtd", "tini", "setpriv", "virsh"].filter((command) =>
    findCommand(command) === undefined
  );
  if (missing.length > 0) return { reason: `needs ${missing.join(", ")}` };
  if (Deno.uid() !== 0) return { reason: "needs root to run libvirtd as another user" };
  for (const sub of ["run", "config", "cache", "data"]) {
    await Deno.mkdir(`${dir}/${sub}`, { recursive: true, mode: 0o700 });
  }
  await new Deno.Command("chown", { args: ["-R", "nobody:nogroup", dir] }).output();
  const child = new Deno.Command("setpriv", {
    args: [
      "--reuid=nobody",
      "--regid=nogroup",
      "--clear-groups",
      "env",
      "-i",
      "PATH=/usr/sbin:/usr/bin:/bin",
      `HOME=${dir}`,
      `XDG_RUNTIME_DIR=${dir}/run`,
      `XDG_CONFIG_HOME=${dir}/config`,
      `XDG_CACHE_HOME=${dir}/cache`,
      `XDG_DATA_HOME=${dir}/data`,
      "tini",
      "-s",
      "--",
      "libvirtd",
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const socket = `${dir}/run/libvirt/libvirt-sock`;
  const deadline = Date.now() + WAIT_TIMEOUT_MS;
  while (Date.now() < deadline) {
    try {
      (await Deno.connect({ transport: "unix", path: socket })).close();
      return { child, uri: `qemu+unix:///session?socket=${socket}` };
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  child.kill("SIGKILL");
  await child.status;
  return { reason: "libvirtd did not listen in time" };
}

/** Delivery latencies (ms) to `count` subscribers of one kind while producers suspend/resume. */
function deliveries(
  r: SocketService,
  rpcSocket: string,
  kind: "sse" | "rpc",
  count: number,
  events: number,
  producers: number,
): Promise<number[]> {
  return measureDeliveries(r, {
    childArgs: (since) =>
      kind === "sse"
        ? [SUBSCRIBERS_SSE, r.socketPath, String(count), String(since), String(since + events)]
        : [SUBSCRIBERS_RPC, rpcSocket, String(count), String(events)],
    events,
    producers,
    what: `${kind} subscribers`,
  });
}

async function eventFigures(clients: number, events: number): Promise<void> {
  const r = await startSocketService({ log: "sqlite" });
  const rpcSocket = `${r.dir}/libvirt-sock`;
  const rpc = await serveRpc({
    socketPath: rpcSocket,
    readOnlySocketPath: `${rpcSocket}-ro`,
    service: {
      host: r.core.host,
      hub: r.core.hub,
      events: EVENT_STREAM_DEFAULTS,
      xmlMaxBytes: 65536,
      hostname: () => "bench",
      nodeInfo: () => TEST_NODE_INFO,
    },
    log: () => {},
  });
  try {
    await startProducers(r, PRODUCER_DOMAINS);
    for (
      const [label, producers] of [
        [`${PRODUCER_DOMAINS} producers as fast as possible`, PRODUCER_DOMAINS],
        ["one producer, one fact at a time", 1],
      ] as const
    ) {
      console.log(
        `event delivery, ${events.toLocaleString("en-US")} events, ${clients} clients, ${label}`,
      );
      const sse = await deliveries(r, rpcSocket, "sse", clients, events, producers);
      console.log(
        `  SSE subscribers (baseline): ${percentileSummary(sse)}  (${sse.length} deliveries)`,
      );
      const wire = await deliveries(r, rpcSocket, "rpc", clients, events, producers);
      const p99 = percentile([...wire].sort((a, b) => a - b), 0.99);
      console.log(
        `  RPC lifecycle callbacks:    ${percentileSummary(wire)}  (${wire.length} deliveries; ` +
          `goal p99 ≤ ${GOAL_EVENT_P99_MS} ms: ${p99 <= GOAL_EVENT_P99_MS ? "met" : "missed"})`,
      );
    }
  } finally {
    await rpc.shutdown();
    await r.stop();
  }
}

async function main(): Promise<void> {
  const env = Deno.env.toObject();
  const domains = parsePositiveInteger(env, "EVIRT_BENCH_RPC_DOMAINS", 1000);
  const seconds = parsePositiveInteger(env, "EVIRT_BENCH_RPC_SECONDS", 3);
  const events = parsePositiveInteger(env, "EVIRT_BENCH_RPC_EVENTS", 10_000);
  const clients = parsePositiveInteger(env, "EVIRT_BENCH_RPC_CLIENTS", 10);

  const parts = (env.EVIRT_BENCH_RPC_PARTS ?? "clients,events").split(",");
  const skip = !parts.includes("clients") ? "not asked for" : pythonLibvirtSkipReason() ??
    (findCommand("virsh") === undefined ? "needs virsh" : undefined);
  if (skip !== undefined) {
    console.log(`python3-libvirt and virsh figures: skipped (${skip})`);
  } else {
    const dirs = await serviceDirs();
    const service = await startServiceProcess(dirs);
    const libvirtDir = await Deno.makeTempDir({ prefix: "evirt-bench-libvirtd-" });
    const libvirtd = await startLibvirtd(libvirtDir);
    try {
      const evirt = await serverFigures(
        `qemu+unix:///system?socket=${dirs.runtimeDir}/libvirt-sock`,
        domains,
        seconds,
      );
      const libvirt = "uri" in libvirtd
        ? await serverFigures(libvirtd.uri!, domains, seconds)
        : undefined;
      const rate = (value: number) => `${Math.round(value).toLocaleString("en-US")} calls/s`;
      console.log(`python3-libvirt lookupByName + info(), ${domains} defined domains`);
      for (const [threads, key] of [[1, "calls1"], [8, "calls8"]] as const) {
        console.log(
          `  ${threads} thread${threads === 1 ? " " : "s"}: evirt ${rate(evirt[key])}; libvirtd ${
            libvirt === undefined ? `not measured (${libvirtd.reason})` : rate(libvirt[key])
          }${
            libvirt === undefined
              ? ""
              : ` (goal ≥ libvirtd: ${evirt[key] >= libvirt[key] ? "met" : "missed"})`
          }`,
        );
      }
      const evirtList = median(evirt.listMs);
      const libvirtList = libvirt === undefined ? undefined : median(libvirt.listMs);
      console.log(
        `virsh list --all, ${domains} domains (median of ${LIST_RUNS}): evirt ${
          evirtList.toFixed(1)
        } ms; libvirtd ${
          libvirtList === undefined
            ? `not measured (${libvirtd.reason})`
            : `${libvirtList.toFixed(1)} ms (goal ≤ libvirtd: ${
              evirtList <= libvirtList ? "met" : "missed"
            })`
        }`,
      );
    } finally {
      if ("child" in libvirtd && libvirtd.child !== undefined) {
        libvirtd.child.kill("SIGTERM");
        await libvirtd.child.status;
      }
      await Deno.remove(libvirtDir, { recursive: true }).catch(() => {});
      await service.stop("SIGTERM");
      await removeServiceDirs(dirs);
    }
  }
  if (parts.includes("events")) await eventFigures(clients, events);
}

if (import.meta.main) {
  await main();
} else {
  Deno.bench({
    name: "RPC event delivery, 2 clients, 1,000 events",
    n: 1,
    async fn() {
      await eventFigures(2, 1000);
    },
  });
}
