import assert from "node:assert/strict";
import { Progress } from "../../../src/cli/progress.ts";

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

Deno.test("Progress writes nothing when stderr is not a terminal", async () => {
  let written = "";
  const progress = new Progress((text) => written += text, false, { delayMs: 1, tickMs: 1 });
  progress.start("waiting");
  await sleep(20);
  progress.stop();
  assert.equal(written, "");
});

Deno.test("Progress shows nothing for a wait shorter than its delay", async () => {
  let written = "";
  const progress = new Progress((text) => written += text, true, { delayMs: 200 });
  assert.equal(await progress.during("quick", Promise.resolve(7)), 7);
  await sleep(250);
  assert.equal(written, "");
});

Deno.test("Progress draws the label with the seconds waited, then erases it", async () => {
  let written = "";
  let nowMs = 0;
  const progress = new Progress((text) => written += text, true, {
    now: () => nowMs,
    delayMs: 1,
    tickMs: 5,
  });
  progress.start("waiting for events");
  nowMs = 2000;
  await sleep(30);
  progress.stop();
  assert.ok(written.startsWith("\r\x1b[Kwaiting for events… 2s"), JSON.stringify(written));
  assert.ok(written.endsWith("\r\x1b[K"));
  const length = written.length;
  await sleep(20);
  assert.equal(written.length, length, "nothing is drawn after stop");
});

Deno.test("Progress shortens a long label to fit a terminal row", async () => {
  let written = "";
  const progress = new Progress((text) => written += text, true, { delayMs: 1, tickMs: 1000 });
  progress.start("x".repeat(200));
  await sleep(20);
  progress.stop();
  assert.ok(written.startsWith(`\r\x1b[K${"x".repeat(60)}… 0s`), JSON.stringify(written));
});

Deno.test("Progress redraws a relabelled line with its new label", async () => {
  let written = "";
  const progress = new Progress((text) => written += text, true, { delayMs: 1, tickMs: 5 });
  progress.start("uploading 0 of 4 MiB");
  await sleep(20);
  progress.relabel("uploading 3 of 4 MiB");
  await sleep(30);
  progress.stop();
  assert.ok(written.includes("uploading 0 of 4 MiB… 0s"), JSON.stringify(written));
  assert.ok(written.includes("uploading 3 of 4 MiB… 0s"), JSON.stringify(written));
});
