import assert from "node:assert/strict";
import { runFresh } from "../_cli_harness.ts";

Deno.test("domif-getlink prints the link of the default test domain's interface (up when unsaid)", async () => {
  const result = await runFresh(["domif-getlink", "test", "aa:bb:cc:dd:ee:ff"]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, "aa:bb:cc:dd:ee:ff up\n");
});

Deno.test("domif-getlink names what it did not find as virsh 9.0", async () => {
  const byDev = await runFresh(["domif-getlink", "test", "nosuch"]);
  assert.equal(byDev.code, 1);
  assert.equal(byDev.stderr, "error: Interface (dev: nosuch) not found.\n");
  const byMac = await runFresh(["domif-getlink", "test", "52:54:00:00:00:99", "--config"]);
  assert.equal(byMac.stderr, "error: Interface (mac: 52:54:00:00:00:99) not found.\n");
});
