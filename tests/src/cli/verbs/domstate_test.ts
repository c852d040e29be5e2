import assert from "node:assert/strict";
import { runFresh, withHarness } from "../_cli_harness.ts";

Deno.test("domstate prints the state, --reason adds the reason", async () => {
  assert.equal((await runFresh(["domstate", "test"])).stdout, "running\n\n");
  assert.equal((await runFresh(["domstate", "test", "--reason"])).stdout, "running (unknown)\n\n");
});

Deno.test("domstate follows the domain through suspend and destroy", async () => {
  await withHarness(async (harness) => {
    await harness.run("suspend", "test");
    assert.equal((await harness.run("domstate", "--reason", "test")).stdout, "paused (user)\n\n");
    await harness.run("destroy", "test");
    assert.equal(
      (await harness.run("domstate", "--reason", "test")).stdout,
      "shut off (destroyed)\n\n",
    );
  });
});

Deno.test("domstate --json prints numbers and names", async () => {
  const state = JSON.parse((await runFresh(["domstate", "test", "--json"])).stdout);
  assert.deepEqual(state, { state: 1, stateName: "running", reason: 0, reasonName: "unknown" });
});

Deno.test("domstate of an unknown domain fails as virsh", async () => {
  const result = await runFresh(["domstate", "x"]);
  assert.equal(result.code, 1);
  assert.equal(result.stderr, "error: failed to get domain 'x'\n");
});
