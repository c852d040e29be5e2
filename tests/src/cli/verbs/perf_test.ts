import assert from "node:assert/strict";
import { PERF_EVENT_NAMES } from "../../../../src/model/perf_events.ts";
import { withHarness } from "../_cli_harness.ts";

/** virsh's listing of every event, those in `enabled` counted. */
function listing(enabled: string[]): string {
  return PERF_EVENT_NAMES.map((name) =>
    `${name.padEnd(15)}: ${enabled.includes(name) ? "enabled" : "disabled"}\n`
  ).join("") + "\n";
}

Deno.test("perf lists every event, and --enable/--disable print what they switched, as virsh", async () => {
  await withHarness(async (harness) => {
    assert.equal((await harness.run("perf", "test")).stdout, listing([]));
    const set = await harness.run(
      "perf",
      "test",
      "--enable",
      "cpu_clock,task_clock",
      "--disable",
      "page_faults",
    );
    assert.equal(set.stderr, "");
    assert.equal(
      set.stdout,
      "cpu_clock      : enabled\ntask_clock     : enabled\npage_faults    : disabled\n\n",
    );
    assert.equal((await harness.run("perf", "test")).stdout, listing(["cpu_clock", "task_clock"]));
    assert.equal((await harness.run("perf", "test", "--config")).stdout, listing([]));
    await harness.run("perf", "test", "--enable", "cmt", "--config");
    assert.equal((await harness.run("perf", "test", "--config")).stdout, listing(["cmt"]));
  });
});

Deno.test("perf reports libvirt's refusals under virsh's failure lines", async () => {
  await withHarness(async (harness) => {
    const unknown = await harness.run("perf", "test", "--enable", "foo");
    assert.equal(unknown.code, 1);
    assert.equal(
      unknown.stderr,
      "error: Unable to enable/disable perf events\n" +
        "error: argument unsupported: parameter 'foo' not supported\n",
    );
    const twice = await harness.run("perf", "test", "--enable", "cmt", "--disable", "cmt");
    assert.equal(
      twice.stderr,
      "error: Unable to enable/disable perf events\n" +
        "error: invalid argument: parameter 'cmt' occurs multiple times\n",
    );
    const both = await harness.run("perf", "test", "--live", "--config");
    assert.equal(
      both.stderr,
      "error: Unable to get perf events\n" +
        "error: Flags 'VIR_DOMAIN_AFFECT_LIVE' and 'VIR_DOMAIN_AFFECT_CONFIG' are mutually exclusive\n",
    );
    const missing = await harness.run("perf", "nosuch");
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^error: failed to get domain 'nosuch'\n/);
  });
});
