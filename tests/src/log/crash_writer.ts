/**
 * A child process for the crash test: appends to the event log in the directory given as the
 * first argument as fast as it can, from several concurrent writers, and prints one line per
 * acknowledged append (`ack <stream> <firstPosition> <lastPosition> <streamVersion>`) after the
 * append resolved, i.e. after its facts are durable. It never stops on its own within
 * {@linkcode WRITE_MAX_MS}; the test kills it.
 *
 * Usage: `deno run -A crash_writer.ts <stateDir> <seed>`
 *
 * @module
 */

import type { AppendResult, NewFact } from "../../../src/log/event_store.ts";
import { openSqliteStore } from "../../../src/log/sqlite_store.ts";
import { crashFactBody } from "./crash_facts.ts";
import { seededRandom } from "../../support/seeded_random.ts";

/** Concurrent writers; each owns two streams, so its expected versions are exact. */
const WRITERS = 8;
/** The child stops by itself after this long if nobody killed it, in ms. */
const WRITE_MAX_MS = 30_000;

const [stateDir, seedText] = Deno.args;
const random = seededRandom(Number(seedText));
const encoder = new TextEncoder();
const store = await openSqliteStore(stateDir);
Deno.stdout.writeSync(encoder.encode(`ready ${store.headPosition()}\n`));
const deadline = Date.now() + WRITE_MAX_MS;

function factsFor(
  stream: string,
  afterVersion: number,
  count: number,
  group: string,
  groupSize: number,
): NewFact[] {
  return Array.from({ length: count }, (_, index) => ({
    type: "CrashTested",
    body: crashFactBody(stream, afterVersion + index + 1, group, groupSize),
  }));
}

function report(stream: string, result: AppendResult): void {
  const line =
    `ack ${stream} ${result.firstPosition} ${result.lastPosition} ${result.streamVersion}\n`;
  Deno.stdout.writeSync(encoder.encode(line));
}

async function write(writer: number): Promise<void> {
  const [first, second] = [`w${writer}a`, `w${writer}b`];
  let firstVersion = await store.streamVersion(first);
  let secondVersion = await store.streamVersion(second);
  for (let call = 0; Date.now() < deadline; call++) {
    const count = 1 + Math.floor(random() * 6);
    // Names the call, so the checker can tell that all of its facts or none were stored.
    const group = `${seedText}-${writer}-${call}`;
    if (random() < 0.5) {
      const facts = factsFor(first, firstVersion, count, group, count);
      const result = await store.append(first, facts, firstVersion);
      firstVersion = result.streamVersion;
      report(first, result);
    } else {
      const [one, two] = await store.appendMany([
        {
          stream: first,
          facts: factsFor(first, firstVersion, count, group, count + 2),
          expectedVersion: firstVersion,
        },
        {
          stream: second,
          facts: factsFor(second, secondVersion, 2, group, count + 2),
          expectedVersion: secondVersion,
        },
      ]);
      firstVersion = one.streamVersion;
      secondVersion = two.streamVersion;
      report(first, one);
      report(second, two);
    }
  }
}

await Promise.all(Array.from({ length: WRITERS }, (_, writer) => write(writer)));
await store.close();
