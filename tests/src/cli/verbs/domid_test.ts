import assert from "node:assert/strict";
import { runFresh, withHarness } from "../_cli_harness.ts";

Deno.test("domid prints the id, '-' once the domain is shut off", async () => {
  assert.equal((await runFresh(["domid", "test"])).stdout, "1\n\n");
  await withHarness(async (harness) => {
    await harness.run("destroy", "test");
    assert.equal((await harness.run("domid", "test")).stdout, "-\n\n");
  });
});

Deno.test("domid of an unknown domain fails as virsh", async () => {
  const result = await runFresh(["domid", "nosuch"]);
  assert.equal(result.code, 1);
  assert.equal(result.stderr, "error: failed to get domain 'nosuch'\n");
});
