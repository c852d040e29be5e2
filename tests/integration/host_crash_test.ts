/**
 * The process hosting the log and the actors is SIGKILLed in the middle of operations, again and
 * again on the same state directory; after each kill a restarted host must show, for every
 * domain, the state, reason and id its callers were last told — or, for a command in flight at
 * the kill, one of that command's outcomes.
 *
 * `EVIRT_HOST_CRASH_ITERATIONS` sets the number of kills (default {@linkcode ITERATIONS_DEFAULT});
 * `EVIRT_HOST_CRASH_SEED` repeats a run.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Host } from "../../actors/host.ts";
import { TestDriver } from "../../drivers/test/test_driver.ts";
import { parsePositiveInteger } from "../../src/config/config.ts";
import { openSqliteStore } from "../../src/log/sqlite_store.ts";
import { seededRandom } from "../support/seeded_random.ts";
import { CRASH_DOMAIN_COUNT, crashDomainDefinition } from "./_host_crash_plan.ts";

const WORKER = new URL("./_host_crash_worker.ts", import.meta.url).pathname;
const ITERATIONS_DEFAULT = 12;
/** Latest kill after the worker is ready, in ms. */
const KILL_AFTER_READY_MAX_MS = 200;
/** Longest a worker may take to get ready, in ms. */
const READY_TIMEOUT_MS = 20_000;

interface Told {
  state: number;
  reason: number;
  id: number | null;
}

interface Observed {
  told: Map<string, Told>;
  inFlight: Map<string, string>;
}

/** Runs a worker, kills it at a random moment after it is ready, returns what it told callers. */
async function runAndKill(dir: string, seed: number, random: () => number, known: Observed) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", WORKER, dir, String(seed)],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = child.stderr.text();
  const lines = child.stdout.pipeThrough(new TextDecoderStream());
  let buffer = "";
  let killTimer: ReturnType<typeof setTimeout> | undefined;
  const readyTimer = setTimeout(() => child.kill("SIGKILL"), READY_TIMEOUT_MS);
  let ready = false;
  known.inFlight.clear();
  for await (const chunk of lines) {
    buffer += chunk;
    let newline: number;
    while ((newline = buffer.indexOf("\n")) !== -1) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      const message = JSON.parse(line);
      if (message.ready) {
        ready = true;
        clearTimeout(readyTimer);
        killTimer = setTimeout(() => {
          try {
            child.kill("SIGKILL");
          } catch {
            // already gone
          }
        }, Math.floor(random() * KILL_AFTER_READY_MAX_MS));
      } else if (message.begin) {
        known.inFlight.set(message.begin.name, message.begin.command);
      } else if (message.ack) {
        const { name, state, reason, id } = message.ack;
        known.told.set(name, { state, reason, id });
        known.inFlight.delete(name);
      }
    }
  }
  const status = await child.status;
  clearTimeout(killTimer);
  clearTimeout(readyTimer);
  assert.ok(ready, `worker never got ready: ${await stderr}`);
  assert.equal(status.signal, "SIGKILL", `worker ended by itself: ${await stderr}`);
}

/** The states a command in flight may have left, from the state last told. */
function outcomes(command: string | undefined, told: Told): Told[] {
  const same = { ...told };
  switch (command) {
    case undefined:
    case "define":
      return [same];
    case "start":
      // Started, or its launch was recorded and the restart rolled it back (shut off, failed).
      return [same, { state: 1, reason: 1, id: null }, { state: 5, reason: 6, id: null }];
    case "destroy":
      return [same, { state: 5, reason: 2, id: null }];
    case "suspend":
      return [same, { state: 3, reason: 1, id: told.id }];
    case "resume":
      return [same, { state: 1, reason: 5, id: told.id }];
    default:
      throw new Error(`unknown command ${command}`);
  }
}

Deno.test("Host recovers exactly what was acknowledged after SIGKILLs mid-operation", async () => {
  const iterations = parsePositiveInteger(
    Deno.env.toObject(),
    "EVIRT_HOST_CRASH_ITERATIONS",
    ITERATIONS_DEFAULT,
  );
  const seed = Number(Deno.env.get("EVIRT_HOST_CRASH_SEED") ?? Date.now() % 1_000_000);
  console.log(`host crash test: ${iterations} kills, EVIRT_HOST_CRASH_SEED=${seed}`);
  const random = seededRandom(seed);
  const dir = await Deno.makeTempDir({ prefix: "evirt-host-crash-" });
  const known: Observed = { told: new Map(), inFlight: new Map() };
  let inFlightSeen = 0;
  try {
    for (let iteration = 0; iteration < iterations; iteration++) {
      await runAndKill(dir, seed + iteration, random, known);
      inFlightSeen += known.inFlight.size;
      const store = await openSqliteStore(dir);
      const host = await Host.open({ store, drivers: [new TestDriver()], log: () => {} });
      try {
        for (let index = 0; index < CRASH_DOMAIN_COUNT; index++) {
          const name = crashDomainDefinition(index).name;
          const told = known.told.get(name);
          if (told === undefined) continue;
          const summary = host.lookup(name);
          const now = { state: summary.state, reason: summary.reason, id: summary.id };
          const allowed = outcomes(known.inFlight.get(name), told);
          const fits = allowed.some((candidate) =>
            candidate.state === now.state && candidate.reason === now.reason &&
            (candidate.id === null && candidate.state === 1
              ? now.id !== null
              : candidate.id === now.id)
          );
          assert.ok(
            fits,
            `iteration ${iteration}, ${name}: recovered ${JSON.stringify(now)}; told ${
              JSON.stringify(told)
            } with ${known.inFlight.get(name) ?? "nothing"} in flight`,
          );
          // What the restarted host shows is what the next worker starts from.
          known.told.set(name, now);
        }
      } finally {
        await host.close();
        await store.close();
      }
    }
    console.log(`host crash test: ${inFlightSeen} commands were in flight at the kills`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
