import assert from "node:assert/strict";
import { runFresh, testDomainXml, withHarness, withTempFile } from "../_cli_harness.ts";

const DEFINED = "event 'lifecycle' for domain 'test': Defined Added\n";
const STARTED = "event 'lifecycle' for domain 'test': Started Booted\n";

Deno.test("event --since 0 replays the log's events, then times out as virsh", async () => {
  const result = await runFresh(["event", "--all", "--loop", "--since", "0", "--timeout", "1"]);
  assert.equal(result.code, 0);
  assert.equal(
    result.stdout,
    `${DEFINED}${STARTED}event loop timed out\nevents received: 2\n\n`,
  );
});

Deno.test("event without --loop stops after the first event", async () => {
  const result = await runFresh(["event", "--all", "--since", "0"]);
  assert.equal(result.code, 0);
  assert.equal(result.stdout, `${DEFINED}events received: 1\n\n`);
});

Deno.test("event --since resumes strictly after a position", async () => {
  const first = JSON.parse((await runFresh(["event", "--all", "--since", "0", "--json"])).stdout);
  const result = await runFresh(["event", "--all", "--since", String(first.position)]);
  assert.equal(result.stdout, `${STARTED}events received: 1\n\n`);
});

Deno.test("event with no event before the timeout exits 1 after the count", async () => {
  const result = await runFresh(["event", "--all", "--timeout", "1"]);
  assert.equal(result.code, 1);
  assert.equal(result.stdout, "event loop timed out\nevents received: 0\n\n");
  assert.equal(result.stderr, "");
});

Deno.test("event --loop prints live events until interrupted", async () => {
  await withHarness(async (harness) => {
    const running = harness.run("event", "--all", "--loop");
    // Live only: the stream starts at the head when the service accepts the subscription.
    await harness.until("the subscription", () => harness.core.metrics.subscribers === 1);
    const lines = [
      "event 'lifecycle' for domain 'test': Suspended Paused\n",
      "event 'lifecycle' for domain 'test': Resumed Unpaused\n",
      "event 'reboot' for domain 'test'\n",
      "event 'lifecycle' for domain 'test': Stopped Destroyed\n",
    ];
    for (const [index, verb] of ["suspend", "resume", "reboot", "destroy"].entries()) {
      assert.equal((await harness.run(verb, "test")).code, 0);
      // The guest reboots after the request is answered; a destroy first would cancel it.
      await harness.until(`event ${index}`, () => harness.liveStdout.includes(lines[index]));
    }
    await harness.until(
      "four events",
      () => lines.every((line) => harness.liveStdout.includes(line)),
    );
    harness.interrupt();
    const result = await running;
    assert.equal(result.code, 0);
    assert.equal(result.stdout, `${lines.join("")}event loop interrupted\nevents received: 4\n\n`);
    await harness.until("the subscription to end", () => harness.core.metrics.subscribers === 0);
  });
});

Deno.test("event --domain and --event filter what is printed", async () => {
  await withHarness(async (harness) => {
    await withTempFile(testDomainXml("web"), async (path) => {
      assert.equal((await harness.run("create", path)).code, 0);
    });
    const byDomain = harness.run("event", "--all", "--domain", "web", "--loop", "--timeout", "2");
    const byEvent = harness.run("event", "--event", "reboot", "--loop", "--timeout", "2");
    await harness.until("both subscriptions", () => harness.core.metrics.subscribers === 2);
    await harness.run("reboot", "test");
    await harness.until(
      "the reboot",
      () => harness.liveStdout.includes("'reboot' for domain 'test'"),
    );
    await harness.run("suspend", "test");
    await harness.run("suspend", "web");
    await harness.run("reset", "web");
    assert.equal(
      (await byDomain).stdout,
      "event 'lifecycle' for domain 'web': Suspended Paused\n" +
        "event 'reboot' for domain 'web'\n" +
        "event loop timed out\nevents received: 2\n\n",
    );
    assert.equal(
      (await byEvent).stdout,
      "event 'reboot' for domain 'test'\n" +
        "event 'reboot' for domain 'web'\n" +
        "event loop timed out\nevents received: 2\n\n",
    );
  });
});

Deno.test("event --json prints one JSON message per line and the count on stderr", async () => {
  const result = await runFresh([
    "event",
    "--all",
    "--loop",
    "--since",
    "0",
    "--timeout",
    "1",
    "--json",
  ]);
  assert.equal(result.code, 0);
  const messages = result.stdout.trimEnd().split("\n").map((line) => JSON.parse(line));
  assert.deepEqual(messages.map((message) => message.lifecycle.typeName), ["Defined", "Started"]);
  assert.ok(messages[0].position < messages[1].position);
  assert.equal(result.stderr, "event loop timed out\nevents received: 2\n");
});

Deno.test("event --timestamp prefixes the recorded time", async () => {
  const result = await runFresh(["event", "--all", "--since", "0", "--timestamp"]);
  assert.match(
    result.stdout,
    /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\+0000: event 'lifecycle' for domain 'test': Defined Added\n/,
  );
});

Deno.test("event --list prints every event name", async () => {
  const result = await runFresh(["event", "--list"]);
  const names = result.stdout.trimEnd().split("\n");
  assert.equal(names.length, 27);
  assert.equal(names[0], "lifecycle");
  assert.equal(names[13], "balloon-change");
});

Deno.test("event refuses bad combinations as virsh", async () => {
  const cases: [string[], string][] = [
    [["event"], "error: one of --list, --all, or --event <type> is required\n"],
    [
      ["event", "--all", "--event", "reboot"],
      "error: Options --all and --event are mutually exclusive\n",
    ],
    [["event", "--list", "--all"], "error: Options --list and --all are mutually exclusive\n"],
    [["event", "--event", "nope"], "error: unknown event type nope\n"],
    [["event", "--all", "--domain", "nosuch"], "error: failed to get domain 'nosuch'\n"],
    [
      ["event", "--all", "--timeout", "0"],
      "error: Numeric value '0' for <timeout> option is malformed or out of range\n",
    ],
  ];
  for (const [words, stderr] of cases) {
    const result = await runFresh(words);
    assert.equal(result.code, 1, words.join(" "));
    assert.equal(result.stderr, stderr);
  }
});

Deno.test("event --since beyond the log's head is refused", async () => {
  const result = await runFresh(["event", "--all", "--since", "999"]);
  assert.equal(result.code, 1);
  assert.match(
    result.stderr,
    /^error: invalid argument: position 999 is beyond the head of the log/,
  );
});
