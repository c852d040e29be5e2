import assert from "node:assert/strict";
import { runFresh } from "../_cli_harness.ts";

Deno.test("detach-interface says which type it found none of, then that it failed", async () => {
  const result = await runFresh(["detach-interface", "test", "bridge"]);
  assert.equal(result.code, 1);
  assert.equal(
    result.stderr,
    "error: No interface found whose type is bridge\nerror: Failed to detach interface\n",
  );
});
