/**
 * Crash safety of the SQLite store: a child process appends from many writers and is SIGKILLed at
 * random moments, again and again on the same directory. After every kill the log must reopen at
 * once and hold every acknowledged fact, in order, with no torn or partial record.
 *
 * `EVIRT_CRASH_ITERATIONS` sets the number of kills (default {@linkcode ITERATIONS_DEFAULT});
 * `EVIRT_CRASH_SEED` repeats a run (the seed is printed).
 *
 * @module
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { parsePositiveInteger } from "../../../src/config/config.ts";
import type { Fact } from "../../../src/log/event_store.ts";
import { DATABASE_FILE, openSqliteStore } from "../../../src/log/sqlite_store.ts";
import { crashFactBody } from "./crash_facts.ts";
import { seededRandom } from "../../support/seeded_random.ts";

const WRITER = new URL("./crash_writer.ts", import.meta.url).pathname;
/** Kills per run when `EVIRT_CRASH_ITERATIONS` is unset. */
const ITERATIONS_DEFAULT = 25;
/** Longest a child may take before the test gives up on it, in ms. */
const CHILD_TIMEOUT_MS = 20_000;
/** Latest kill after the child reported ready, in ms. */
const KILL_AFTER_READY_MAX_MS = 150;
/** Latest kill after spawning, for kills that may land during open and recovery, in ms. */
const KILL_AFTER_SPAWN_MAX_MS = 120;

interface Ack {
  stream: string;
  firstPosition: number;
  lastPosition: number;
  streamVersion: number;
}

interface Run {
  acks: Ack[];
  ready: boolean;
}

/** Spawns the writer, kills it at a random moment, and returns what it acknowledged. */
async function runAndKill(dir: string, seed: number, random: () => number): Promise<Run> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", WRITER, dir, String(seed)],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const killEarly = random() < 0.2;
  let killTimer: ReturnType<typeof setTimeout> | undefined;
  const kill = () => {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
  };
  const scheduleKill = (maxMs: number) => {
    killTimer ??= setTimeout(kill, Math.floor(random() * maxMs));
  };
  const guard = setTimeout(kill, CHILD_TIMEOUT_MS);
  if (killEarly) scheduleKill(KILL_AFTER_SPAWN_MAX_MS);
  const run: Run = { acks: [], ready: false };
  let pending = "";
  try {
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      pending += chunk;
      const lines = pending.split("\n");
      pending = lines.pop()!; // A partial last line was not fully written: it does not count.
      for (const line of lines) parseLine(line, run, () => scheduleKill(KILL_AFTER_READY_MAX_MS));
    }
    const status = await child.status;
    const stderr = new TextDecoder().decode(await new Response(child.stderr).arrayBuffer());
    assert.equal(status.signal, "SIGKILL", `writer ended without being killed: ${stderr}`);
  } finally {
    clearTimeout(killTimer);
    clearTimeout(guard);
  }
  return run;
}

function parseLine(line: string, run: Run, onReady: () => void): void {
  const ready = /^ready \d+$/.exec(line);
  if (ready) {
    run.ready = true;
    onReady();
    return;
  }
  const ack = /^ack (\S+) (\d+) (\d+) (\d+)$/.exec(line);
  assert.ok(ack, `unexpected writer output: ${line}`);
  run.acks.push({
    stream: ack[1],
    firstPosition: Number(ack[2]),
    lastPosition: Number(ack[3]),
    streamVersion: Number(ack[4]),
  });
}

/** Reopens the log and checks every fact and every acknowledgement; returns the head. */
async function verify(dir: string, acks: readonly Ack[]): Promise<number> {
  const store = await openSqliteStore(dir);
  const facts: Fact[] = [];
  try {
    let after = 0;
    while (after < store.headPosition()) {
      const page = await store.readAll({ afterPosition: after, limit: 5000 });
      facts.push(...page);
      after = page[page.length - 1].position;
    }
  } finally {
    await store.close();
  }
  const versions = new Map<string, number>();
  const groups = new Map<string, { size: number; found: number }>();
  facts.forEach((fact, index) => {
    assert.equal(fact.position, index + 1, "positions are gapless from 1");
    const expectedVersion = (versions.get(fact.stream) ?? 0) + 1;
    assert.equal(fact.version, expectedVersion, `versions of ${fact.stream} are gapless`);
    versions.set(fact.stream, expectedVersion);
    assert.equal(fact.type, "CrashTested");
    const { group, groupSize } = fact.body as { group: string; groupSize: number };
    assert.deepEqual(
      fact.body,
      crashFactBody(fact.stream, fact.version, group, groupSize),
      `fact ${fact.position} is whole`,
    );
    const seen = groups.get(group) ?? { size: groupSize, found: 0 };
    seen.found++;
    groups.set(group, seen);
  });
  for (const [group, { size, found }] of groups) {
    assert.equal(found, size, `append call ${group} is stored whole, not in part`);
  }
  for (const ack of acks) {
    const count = ack.lastPosition - ack.firstPosition + 1;
    for (let index = 0; index < count; index++) {
      const fact = facts[ack.firstPosition - 1 + index];
      assert.ok(
        fact !== undefined,
        `acknowledged position ${ack.firstPosition + index} is missing`,
      );
      assert.equal(fact.stream, ack.stream);
      assert.equal(fact.version, ack.streamVersion - count + 1 + index);
    }
  }
  const db = new DatabaseSync(`${dir}/${DATABASE_FILE}`, { readOnly: true });
  try {
    assert.deepEqual({ ...db.prepare("PRAGMA integrity_check").get() }, { integrity_check: "ok" });
  } finally {
    db.close();
  }
  return facts.length;
}

Deno.test("SqliteStore keeps every acknowledged fact whole across SIGKILLs mid-append", async () => {
  const iterations = parsePositiveInteger(
    Deno.env.toObject(),
    "EVIRT_CRASH_ITERATIONS",
    ITERATIONS_DEFAULT,
  );
  const seed = parsePositiveInteger(
    Deno.env.toObject(),
    "EVIRT_CRASH_SEED",
    1 + Math.floor(Math.random() * 1e9),
  );
  const random = seededRandom(seed);
  const dir = await Deno.makeTempDir({ prefix: "evirt-crash-" });
  const acks: Ack[] = [];
  let head = 0;
  let killedWhileWriting = 0;
  try {
    for (let iteration = 0; iteration < iterations; iteration++) {
      const run = await runAndKill(dir, seed + iteration, random);
      acks.push(...run.acks);
      if (run.ready) killedWhileWriting++;
      const newHead = await verify(dir, acks).catch((error) => {
        throw new Error(`iteration ${iteration} of seed ${seed}: ${error.message}`, {
          cause: error,
        });
      });
      assert.ok(newHead >= head, "the log never shrinks");
      head = newHead;
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  console.log(
    `crash test: seed ${seed}, ${iterations} kills (${killedWhileWriting} while appending), ` +
      `${acks.length} acknowledged appends, ${head} facts on disk`,
  );
  assert.ok(acks.length > 0, "the writer acknowledged something before being killed");
});
