/**
 * An unprivileged local user floods the 0666 read-only socket: the service must stay up, keep
 * serving the read-write socket, refuse what is over the read-only bound, and close idle and
 * half-sent connections after the header timeout. The service runs under a lowered descriptor
 * limit (`prlimit`) so the flood passes it; the client runs as `nobody` (`setpriv`).
 */

import assert from "node:assert/strict";
import { missing, repoDir, testIf } from "../support/environment.ts";
import {
  removeServiceDirs,
  serviceDirs,
  type ServiceProcess,
  startServiceProcess,
} from "../support/service_process.ts";

/** Descriptors the service may open: far fewer than the flood's connections. */
const SERVICE_DESCRIPTORS_MAX = 1024;
/** The flood, split over processes that each stay under their own descriptor limit. */
const FLOOD_CONNECTIONS = Number(Deno.env.get("EVIRT_FLOOD_CONNECTIONS") ?? "20000");
/** Connections one client process holds at most (under its own descriptor limit). */
const FLOOD_PER_PROCESS_MAX = Math.min(5000, hardDescriptorLimit() - 64);

/** This process's hard descriptor limit, which the clients inherit. */
function hardDescriptorLimit(): number {
  try {
    const limits = Deno.readTextFileSync("/proc/self/limits");
    const match = /^Max open files\s+\S+\s+(\d+|unlimited)/m.exec(limits);
    return match === null || match[1] === "unlimited" ? 1_048_576 : Number(match[1]);
  } catch {
    return 1024;
  }
}
const HEADER_TIMEOUT_MS = 3000;
/** Longest wait for anything in this test, in ms. */
const WAIT_MAX_MS = 60_000;
/** The system's Python (not a per-user install `nobody` cannot reach). */
const SYSTEM_PYTHON = "/usr/bin/python3";

function skipReason(): string | undefined {
  if (Deno.build.os !== "linux") return "needs Linux";
  if (Deno.uid() !== 0) return "needs root (to run the client as nobody)";
  return missing("setpriv", "prlimit", SYSTEM_PYTHON);
}

interface Flood {
  children: Deno.ChildProcess[];
  writers: WritableStreamDefaultWriter<Uint8Array>[];
  readers: ReadableStreamDefaultReader<string>[];
}

async function nextLine(reader: ReadableStreamDefaultReader<string>, buffered: string[]) {
  const deadline = Date.now() + WAIT_MAX_MS;
  while (buffered.length === 0 || !buffered[0].includes("\n")) {
    if (Date.now() > deadline) throw new Error("no answer from a flood client");
    const { value, done } = await reader.read();
    if (done) throw new Error("a flood client ended early");
    buffered[0] = (buffered[0] ?? "") + value;
  }
  const [line, ...rest] = buffered[0].split("\n");
  buffered[0] = rest.join("\n");
  return line;
}

async function startFlood(
  socketPath: string,
  script: string,
  count: number,
  mode: "idle" | "half",
): Promise<{ flood: Flood; connected: number; lines: string[][] }> {
  const flood: Flood = { children: [], writers: [], readers: [] };
  const lines: string[][] = [];
  const processes = Math.ceil(count / FLOOD_PER_PROCESS_MAX);
  const per = Math.ceil(count / processes);
  for (let index = 0; index < processes; index++) {
    const child = new Deno.Command("setpriv", {
      args: [
        "--reuid=nobody",
        "--regid=nogroup",
        "--clear-groups",
        SYSTEM_PYTHON,
        script,
        socketPath,
        String(per),
        mode,
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    flood.children.push(child);
    flood.writers.push(child.stdin.getWriter());
    flood.readers.push(child.stdout.pipeThrough(new TextDecoderStream()).getReader());
    lines.push([]);
  }
  let connected = 0;
  for (let index = 0; index < processes; index++) {
    const line = await nextLine(flood.readers[index], lines[index]);
    const match = /^connected (\d+) failed (\d+)$/.exec(line);
    assert.ok(match !== null, `unexpected flood output '${line}'`);
    connected += Number(match[1]);
  }
  return { flood, connected, lines };
}

async function closedCount(flood: Flood, lines: string[][]): Promise<number> {
  let closed = 0;
  for (let index = 0; index < flood.children.length; index++) {
    await flood.writers[index].write(new TextEncoder().encode("count-closed\n"));
    const line = await nextLine(flood.readers[index], lines[index]);
    closed += Number(/^closed (\d+)$/.exec(line)?.[1] ?? NaN);
  }
  return closed;
}

async function endFlood(flood: Flood): Promise<void> {
  for (const writer of flood.writers) await writer.close().catch(() => {});
  for (const reader of flood.readers) await reader.cancel().catch(() => {});
  for (const child of flood.children) {
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch {
        // already ended
      }
    }, 10_000);
    await child.status;
    clearTimeout(timer);
  }
}

function gauge(metrics: string, name: string): number {
  const match = new RegExp(`^${name.replace(/[{}"]/g, "\\$&")} (\\d+)$`, "m").exec(metrics);
  assert.ok(match !== null, `no ${name} in the metrics`);
  return Number(match[1]);
}

async function withFloodRig(
  fn: (service: ServiceProcess, script: string) => Promise<void>,
): Promise<void> {
  const dirs = await serviceDirs();
  const base = dirs.stateDir.replace(/\/state$/, "");
  // nobody must reach the 0666 socket and read the client script, as on a real host.
  await Deno.chmod(base, 0o755);
  await Deno.chmod(dirs.runtimeDir, 0o755);
  const script = `${base}/connection_flood.py`;
  await Deno.copyFile(`${repoDir}/tests/fixtures/connection_flood.py`, script);
  await Deno.chmod(script, 0o644);
  const service = await startServiceProcess(
    dirs,
    { EVIRT_HEADER_TIMEOUT_MS: String(HEADER_TIMEOUT_MS) },
    ["prlimit", `--nofile=${SERVICE_DESCRIPTORS_MAX}:${SERVICE_DESCRIPTORS_MAX}`],
  );
  try {
    await fn(service, script);
    const status = await service.stop("SIGTERM");
    assert.equal(status.code, 0, `the service did not stop cleanly:\n${service.log()}`);
  } finally {
    await service.stop("SIGKILL");
    await removeServiceDirs(dirs);
  }
}

testIf(
  `service survives ${FLOOD_CONNECTIONS} idle connections from an unprivileged user and keeps serving the read-write socket`,
  skipReason(),
  async () => {
    await withFloodRig(async (service, script) => {
      const socketPath = `${service.runtimeDir}/evirt-ro.sock`;
      const { flood, connected, lines } = await startFlood(
        socketPath,
        script,
        FLOOD_CONNECTIONS,
        "idle",
      );
      try {
        assert.ok(connected >= FLOOD_CONNECTIONS * 0.9, `only ${connected} connected`);
        // The service is up and the read-write socket answers at once.
        const started = Date.now();
        await service.client.define({
          xml: "<domain type='test'><name>web</name><memory>65536</memory><vcpu>1</vcpu>" +
            "<os><type>hvm</type></os><devices/></domain>",
        });
        assert.equal((await service.client.listDomains())[0].name, "web");
        assert.ok(Date.now() - started < 5000, "the read-write socket was slow to answer");
        const metrics = await service.client.metrics();
        const readOnlyMax = gauge(metrics, 'evirt_connections_max{pool="read-only"}');
        assert.ok(readOnlyMax < SERVICE_DESCRIPTORS_MAX, "the pool is not held under the limit");
        assert.ok(gauge(metrics, 'evirt_connections{pool="read-only"}') <= readOnlyMax);
        // Some of the flood found its pool full (the header timeout freed slots for the rest).
        assert.ok(gauge(metrics, "evirt_connections_refused_total") > 0);
        // After the header timeout every idle connection has been closed by the service.
        const deadline = Date.now() + WAIT_MAX_MS;
        let closed = 0;
        while (Date.now() < deadline) {
          closed = await closedCount(flood, lines);
          if (closed === connected) break;
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
        assert.equal(closed, connected, "idle connections still held");
        assert.equal(
          gauge(await service.client.metrics(), 'evirt_connections{pool="read-only"}'),
          0,
        );
        assert.doesNotMatch(service.log(), /Uncaught|Too many open files/);
      } finally {
        await endFlood(flood);
      }
    });
  },
);

testIf(
  "service closes 800 half-sent requests after the header timeout",
  skipReason(),
  async () => {
    await withFloodRig(async (service, script) => {
      const socketPath = `${service.runtimeDir}/evirt-ro.sock`;
      const { flood, connected, lines } = await startFlood(socketPath, script, 800, "half");
      try {
        assert.equal(connected, 800);
        assert.equal(await closedCount(flood, lines), 0, "closed before the header timeout");
        await new Promise((resolve) => setTimeout(resolve, HEADER_TIMEOUT_MS + 1500));
        assert.equal(await closedCount(flood, lines), 800);
      } finally {
        await endFlood(flood);
      }
    });
  },
);
