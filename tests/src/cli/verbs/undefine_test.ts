import assert from "node:assert/strict";
import { runFresh, withHarness } from "../_cli_harness.ts";

Deno.test("undefine of a running domain leaves it running as transient", async () => {
  await withHarness(async (harness) => {
    const result = await harness.run("undefine", "test");
    assert.equal(result.code, 0);
    assert.equal(result.stdout, "Domain 'test' has been undefined\n\n");
    assert.match((await harness.run("dominfo", "test")).stdout, /\nPersistent: {5}no\n/);
    await harness.run("destroy", "test");
    assert.equal((await harness.run("list", "--all", "--name")).stdout, "\n");
  });
});

Deno.test("undefine by id names the domain", async () => {
  const result = await runFresh(["undefine", "1"]);
  assert.equal(result.stdout, "Domain 'test' has been undefined\n\n");
});

Deno.test("undefine of an unknown domain fails as virsh", async () => {
  const result = await runFresh(["undefine", "nosuch"]);
  assert.equal(result.code, 1);
  assert.equal(result.stderr, "error: failed to get domain 'nosuch'\n");
});
