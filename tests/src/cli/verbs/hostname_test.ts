import assert from "node:assert/strict";
import { runFresh } from "../_cli_harness.ts";

Deno.test("hostname prints this host's name", async () => {
  const result = await runFresh(["hostname"]);
  assert.equal(result.code, 0);
  assert.equal(result.stdout, `${Deno.hostname()}\n\n`);
});

Deno.test("hostname refuses an argument", async () => {
  const result = await runFresh(["hostname", "x"]);
  assert.equal(result.code, 1);
  assert.equal(result.stderr, "error: unexpected data 'x'\n");
});
