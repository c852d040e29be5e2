import assert from "node:assert/strict";
import { runFresh, withHarness } from "../_cli_harness.ts";

Deno.test("dommemstat prints the balloon's size and the process's rss", async () => {
  const result = await runFresh(["dommemstat", "test"]);
  assert.equal(result.code, 0);
  assert.match(result.stdout, /^actual 2097152\nrss \d+\n\n$/);
});

Deno.test("dommemstat of a shut off domain fails as virsh", async () => {
  await withHarness(async (harness) => {
    await harness.run("destroy", "test");
    const result = await harness.run("dommemstat", "test");
    assert.equal(result.code, 1);
    assert.equal(
      result.stderr,
      "error: Failed to get memory statistics for domain test\n" +
        "error: Requested operation is not valid: domain is not running\n",
    );
  });
});
