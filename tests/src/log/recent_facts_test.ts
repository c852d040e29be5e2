import assert from "node:assert/strict";
import { factChecksum } from "../../../src/log/fact_checksum.ts";
import type { StoredFact } from "../../../src/log/fact_storage.ts";
import { RECENT_BYTES_MAX, RECENT_FACTS_MAX, RecentFacts } from "../../../src/log/recent_facts.ts";
import { range } from "./event_store_contract.ts";

function stored(position: number, bodyJson = "1"): StoredFact {
  const fact = {
    position,
    stream: "s",
    version: position,
    type: "T",
    schemaVersion: 1,
    timestampMs: 0,
    bodyJson,
  };
  return { ...fact, checksum: factChecksum(fact) };
}

Deno.test("RecentFacts.read() returns kept facts after a position, up to a limit", () => {
  const recent = new RecentFacts();
  recent.add(range(5, 9).map((position) => stored(position)));
  assert.deepEqual(recent.read(4, 10, 1000)?.map((fact) => fact.position), [5, 6, 7, 8, 9]);
  assert.deepEqual(recent.read(6, 2, 1000)?.map((fact) => fact.position), [7, 8]);
  assert.deepEqual(recent.read(9, 10, 1000), []);
  assert.equal(recent.read(3, 10, 1000), undefined);
  assert.equal(new RecentFacts().read(0, 10, 1000), undefined);
});

Deno.test("RecentFacts.read() stops once bodies reach maxBytes, after at least one", () => {
  const recent = new RecentFacts();
  recent.add(range(1, 4).map((position) => stored(position, "x".repeat(10))));
  assert.deepEqual(recent.read(0, 10, 25)?.map((fact) => fact.position), [1, 2, 3]);
  assert.deepEqual(recent.read(0, 10, 1)?.map((fact) => fact.position), [1]);
});

Deno.test("RecentFacts.add() keeps at most RECENT_FACTS_MAX facts", () => {
  const recent = new RecentFacts();
  let newest = 0;
  while (newest < 3 * RECENT_FACTS_MAX) {
    recent.add(range(newest + 1, newest + 100).map((position) => stored(position)));
    newest += 100;
  }
  const oldestKept = newest - RECENT_FACTS_MAX + 1;
  assert.equal(recent.read(oldestKept - 2, 1, 1000), undefined);
  assert.deepEqual(recent.read(oldestKept - 1, 1, 1000)?.map((fact) => fact.position), [
    oldestKept,
  ]);
  assert.deepEqual(recent.read(newest - 1, 5, 1000)?.map((fact) => fact.position), [newest]);
});

Deno.test("RecentFacts.add() keeps at most RECENT_BYTES_MAX of bodies, yet the newest fact", () => {
  const recent = new RecentFacts();
  const half = "x".repeat(RECENT_BYTES_MAX / 2);
  recent.add([stored(1, half), stored(2, half), stored(3, half)]);
  assert.equal(recent.read(0, 10, RECENT_BYTES_MAX * 2), undefined);
  assert.deepEqual(recent.read(1, 10, RECENT_BYTES_MAX * 2)?.map((fact) => fact.position), [2, 3]);
  recent.add([stored(4, "x".repeat(RECENT_BYTES_MAX + 1))]);
  assert.deepEqual(recent.read(3, 10, RECENT_BYTES_MAX * 2)?.map((fact) => fact.position), [4]);
});

Deno.test("RecentFacts.add() refuses a gap", () => {
  const recent = new RecentFacts();
  recent.add([stored(1)]);
  assert.throws(() => recent.add([stored(3)]), /Recent facts jump from 1 to 3/);
});
