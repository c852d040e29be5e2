import assert from "node:assert/strict";
import { runFresh } from "../_cli_harness.ts";

Deno.test("domname prints the name of an id or uuid", async () => {
  assert.equal((await runFresh(["domname", "1"])).stdout, "test\n\n");
  assert.equal(
    (await runFresh(["domname", "6695eb01-f6a4-8304-79aa-97f2502e193f"])).stdout,
    "test\n\n",
  );
});

Deno.test("domname of an unknown id fails as virsh", async () => {
  const result = await runFresh(["domname", "7"]);
  assert.equal(result.code, 1);
  assert.equal(result.stderr, "error: failed to get domain '7'\n");
});
