/**
 * A host on the QEMU driver in a process of its own, driven over stdin/stdout with one JSON
 * request per line (`{"id", "op", …}`) and one JSON reply per line (`{"id", "ok", "result"}` or
 * `{"id", "ok": false, "error"}`), so a test can SIGKILL it like a service and start another on
 * the same state directory.
 *
 * Usage: `deno run -A tests/integration/_host_process.ts STATE_DIR RUNTIME_DIR LOG_DIR`.
 * Operations: define {definition}, start {name, paused?}, suspend/resume/destroy/reset {name},
 * lookup {name} → {state, reason, pid, startTimeTicks}, events → libvirt event names in order,
 * wait {name, state, timeoutMs}. End of stdin closes the host (running domains keep running).
 *
 * @module
 */

import { Host } from "../../actors/host.ts";
import { QemuDriver } from "../../drivers/qemu/qemu_driver.ts";
import { openSqliteStore } from "../../src/log/sqlite_store.ts";
import type { DomainDefinition } from "../../src/model/domain.ts";
import { loggedEvents } from "../support/domains.ts";

/** Longest request line accepted, in bytes. */
const REQUEST_MAX_BYTES = 1024 * 1024;

interface Request {
  id: number;
  op: string;
  name?: string;
  definition?: DomainDefinition;
  paused?: boolean;
  state?: number;
  timeoutMs?: number;
}

const [stateDir, runtimeDir, logDir] = Deno.args;
if (stateDir === undefined || runtimeDir === undefined || logDir === undefined) {
  console.error("usage: _host_process.ts STATE_DIR RUNTIME_DIR LOG_DIR");
  Deno.exit(2);
}

const store = await openSqliteStore(stateDir);
const driver = await QemuDriver.create({ runtimeDir, logDir, log: (line) => console.error(line) });
const host = await Host.open({ store, drivers: [driver], log: (line) => console.error(line) });
const encoder = new TextEncoder();

async function handle(request: Request): Promise<unknown> {
  const name = request.name ?? "";
  switch (request.op) {
    case "define":
      return await host.define(request.definition!);
    case "start":
      return await host.start(name, { paused: request.paused ?? false });
    case "suspend":
      return await host.suspend(name);
    case "resume":
      return await host.resume(name);
    case "destroy":
      return await host.destroy(name);
    case "reset":
      return await host.reset(name);
    case "lookup": {
      const summary = host.lookup(name);
      const runtime = host.context(name).runtime;
      return {
        state: summary.state,
        reason: summary.reason,
        pid: runtime?.pid ?? null,
        startTimeTicks: runtime?.startTimeTicks ?? null,
      };
    }
    case "wait":
      return await host.waitFor(
        host.lookup(name).uuid,
        (summary) => summary.state === request.state,
        request.timeoutMs ?? 10_000,
      );
    case "events":
      await host.idle();
      return await loggedEvents(store);
    default:
      throw new Error(`unknown op ${request.op}`);
  }
}

async function reply(message: unknown): Promise<void> {
  await Deno.stdout.write(encoder.encode(`${JSON.stringify(message)}\n`));
}

let buffered = "";
const decoder = new TextDecoder();
// Ends at the end of stdin.
for await (const chunk of Deno.stdin.readable) {
  buffered += decoder.decode(chunk, { stream: true });
  if (buffered.length > REQUEST_MAX_BYTES) throw new Error("request line too long");
  let newline: number;
  while ((newline = buffered.indexOf("\n")) >= 0) {
    const line = buffered.slice(0, newline);
    buffered = buffered.slice(newline + 1);
    if (line.trim() === "") continue;
    const request = JSON.parse(line) as Request;
    try {
      await reply({ id: request.id, ok: true, result: (await handle(request)) ?? null });
    } catch (error) {
      await reply({ id: request.id, ok: false, error: (error as Error).message });
    }
  }
}
await host.close();
await store.close();
