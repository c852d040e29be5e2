import assert from "node:assert/strict";
import { runFresh } from "../_cli_harness.ts";

Deno.test("domuuid prints the uuid of a name or id", async () => {
  for (const reference of ["test", "1"]) {
    const result = await runFresh(["domuuid", reference]);
    assert.equal(result.stdout, "6695eb01-f6a4-8304-79aa-97f2502e193f\n\n");
  }
});

Deno.test("domuuid --json prints the info view", async () => {
  const info = JSON.parse((await runFresh(["domuuid", "test", "--json"])).stdout);
  assert.equal(info.uuid, "6695eb01-f6a4-8304-79aa-97f2502e193f");
});
