import assert from "node:assert/strict";
import { runFresh } from "../_cli_harness.ts";

Deno.test("domif-setlink refuses a state other than up and down", async () => {
  const result = await runFresh(["domif-setlink", "test", "aa:bb:cc:dd:ee:ff", "sideways"]);
  assert.equal(result.code, 1);
  assert.equal(result.stderr, "error: invalid link state 'sideways'\n");
});

Deno.test("domif-setlink --print-xml prints the interface with its new link", async () => {
  const result = await runFresh([
    "domif-setlink",
    "test",
    "aa:bb:cc:dd:ee:ff",
    "down",
    "--print-xml",
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stdout,
    /^<interface type='network'>[\s\S]*<link state='down'\/>\n<\/interface>\n/,
  );
});
