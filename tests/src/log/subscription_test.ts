import assert from "node:assert/strict";
import type { Fact } from "../../../src/log/event_store.ts";
import { HeadSignal } from "../../../src/log/head_signal.ts";
import { followLog, type LogFollowSource } from "../../../src/log/subscription.ts";

function fact(position: number): Fact {
  return {
    position,
    stream: "s",
    version: position,
    type: "T",
    schemaVersion: 1,
    timestampMs: 0,
    body: null,
  };
}

/** A source over positions 1..head that records each read's limit. */
function source(head: number): LogFollowSource & { limits: number[] } {
  const limits: number[] = [];
  const headSignal = new HeadSignal(head);
  return {
    limits,
    headSignal,
    readAll(after: number, limit: number) {
      limits.push(limit);
      const last = Math.min(headSignal.head, after + limit);
      return Promise.resolve(
        Array.from({ length: Math.max(0, last - after) }, (_, index) => fact(after + index + 1)),
      );
    },
  };
}

Deno.test("followLog() reads the backlog in pages of pageSize", async () => {
  const log = source(10);
  const controller = new AbortController();
  const positions: number[] = [];
  for await (const item of followLog(log, 0, 3, controller.signal)) {
    positions.push(item.position);
    if (item.position === 10) controller.abort();
  }
  assert.deepEqual(positions, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.deepEqual(log.limits, [3, 3, 3, 3]);
});

Deno.test("followLog() wakes on a new head and ends when the head signal closes", async () => {
  const log = source(0);
  const positions: number[] = [];
  const done = (async () => {
    for await (const item of followLog(log, 0, 10, undefined)) positions.push(item.position);
  })();
  await new Promise((resolve) => setTimeout(resolve, 5));
  log.headSignal.advance(2);
  await new Promise((resolve) => setTimeout(resolve, 5));
  log.headSignal.close();
  await done;
  assert.deepEqual(positions, [1, 2]);
});

Deno.test("followLog() refuses a store that returns nothing below its head", async () => {
  const log = source(3);
  log.readAll = () => Promise.resolve([]);
  await assert.rejects(
    (async () => {
      for await (const _ of followLog(log, 0, 10, undefined)) { /* nothing arrives */ }
    })(),
    /Store returned no fact after 0 below head 3/,
  );
});

Deno.test("followLog() refuses a store that skips a position", async () => {
  const log = source(3);
  log.readAll = () => Promise.resolve([fact(1), fact(3)]);
  await assert.rejects(
    (async () => {
      for await (const _ of followLog(log, 0, 10, undefined)) { /* until the gap */ }
    })(),
    /Subscription skipped from 1 to 3/,
  );
});
