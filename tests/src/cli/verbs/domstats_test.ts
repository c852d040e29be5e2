import assert from "node:assert/strict";
import { runFresh, testDomainXml, withHarness, withTempFile } from "../_cli_harness.ts";

Deno.test("domstats prints every group of the running test domain", async () => {
  const result = await runFresh(["domstats"]);
  assert.equal(result.code, 0);
  const lines = result.stdout.split("\n");
  assert.equal(lines[0], "Domain: 'test'");
  const keys = lines.slice(1).filter((line) => line !== "").map((line) => line.split("=")[0]);
  for (
    const key of [
      "  state.state",
      "  cpu.time",
      "  balloon.current",
      "  vcpu.0.time",
      "  net.0.rx.bytes",
      "  block.0.allocation",
    ]
  ) {
    assert.ok(keys.includes(key), `${key} is reported`);
  }
  assert.ok(result.stdout.endsWith("\n\n"), "an empty line ends the command");
});

Deno.test("domstats --state lists each domain in its own block", async () => {
  await withHarness(async (harness) => {
    await withTempFile(testDomainXml("db"), async (path) => {
      await harness.run("define", path);
    });
    const result = await harness.run("domstats", "--state");
    assert.equal(
      result.stdout,
      "Domain: 'test'\n  state.state=1\n  state.reason=0\n\n" +
        "Domain: 'db'\n  state.state=5\n  state.reason=0\n\n",
    );
    const inactive = await harness.run("domstats", "--state", "--list-inactive");
    assert.equal(inactive.stdout, "Domain: 'db'\n  state.state=5\n  state.reason=0\n\n");
    const named = await harness.run("domstats", "--state", "db", "test");
    assert.match(named.stdout, /^Domain: 'db'\n[^]*\n\nDomain: 'test'\n/);
  });
});

Deno.test("domstats --block reports the test disk's figures", async () => {
  const result = await runFresh(["domstats", "--block", "test"]);
  assert.match(result.stdout, /^ {2}block\.count=1$/m);
  assert.match(result.stdout, /^ {2}block\.0\.path=\/guest\/diskimage1$/m);
  assert.match(result.stdout, /^ {2}block\.0\.capacity=1099506450432$/m);
});

Deno.test("domstats refuses unsupported groups with --enforce, and filters with domains", async () => {
  const enforced = await runFresh(["domstats", "--perf", "--enforce"]);
  assert.equal(enforced.code, 1);
  assert.equal(
    enforced.stderr,
    "error: argument unsupported: Stats types bits 0x40 are not supported by this daemon\n",
  );
  const quiet = await runFresh(["domstats", "--perf"]);
  assert.equal(quiet.stdout, "Domain: 'test'\n\n", "without --enforce the group is left out");
  const mixed = await runFresh(["domstats", "--list-running", "test"]);
  assert.equal(mixed.code, 1);
  assert.match(mixed.stderr, /mutually exclusive/);
});

Deno.test("domstats names a domain that does not exist", async () => {
  const result = await runFresh(["domstats", "test", "nosuch"]);
  assert.equal(result.code, 1);
  assert.equal(result.stderr, "error: failed to get domain 'nosuch'\n");
});

Deno.test("domstats --json prints the records with their freshness", async () => {
  const records = JSON.parse((await runFresh(["domstats", "--state", "--json"])).stdout);
  assert.equal(records[0].name, "test");
  assert.equal(records[0].stale, false);
  assert.equal(typeof records[0].sampleAgeMs, "number");
  assert.deepEqual(records[0].stats, [
    { key: "state.state", value: 1 },
    { key: "state.reason", value: 0 },
  ]);
});
