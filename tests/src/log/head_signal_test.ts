import assert from "node:assert/strict";
import { HeadSignal } from "../../../src/log/head_signal.ts";

Deno.test("HeadSignal.wait() resolves at once when the head is already past the position", async () => {
  assert.equal(await new HeadSignal(5).wait(4, undefined, 1000), "advanced");
});

Deno.test("HeadSignal.wait() resolves when the head advances past the position", async () => {
  const signal = new HeadSignal(0);
  const outcome = signal.wait(1, undefined, 1000);
  signal.advance(1); // Not past position 1 yet.
  signal.advance(2);
  assert.equal(await outcome, "advanced");
});

Deno.test("HeadSignal.wait() times out", async () => {
  assert.equal(await new HeadSignal(0).wait(0, undefined, 5), "timeout");
});

Deno.test("HeadSignal.wait() ends on abort and on close", async () => {
  const signal = new HeadSignal(0);
  const controller = new AbortController();
  const aborted = signal.wait(0, controller.signal, 1000);
  controller.abort();
  assert.equal(await aborted, "aborted");
  assert.equal(await signal.wait(0, AbortSignal.abort(), 1000), "aborted");
  const closed = signal.wait(0, undefined, 1000);
  signal.close();
  assert.equal(await closed, "closed");
  assert.equal(await signal.wait(0, undefined, 1000), "closed");
});

Deno.test("HeadSignal.advance() refuses to move the head backwards", () => {
  assert.throws(() => new HeadSignal(3).advance(2), /Head moved backwards: 3 to 2/);
});
