import assert from "node:assert/strict";
import { runFresh } from "../_cli_harness.ts";

Deno.test("domblklist prints the default test domain's disk in virsh's table", async () => {
  const result = await runFresh(["domblklist", "test"]);
  assert.equal(result.code, 0);
  assert.equal(
    result.stdout,
    " Target   Source\n-----------------------------\n vda      /guest/diskimage1\n\n",
  );
});

Deno.test("domblklist --details adds the type and device columns", async () => {
  const result = await runFresh(["domblklist", "test", "--details", "--inactive"]);
  assert.equal(
    result.stdout,
    " Type   Device   Target   Source\n" +
      "---------------------------------------------\n" +
      " file   disk     vda      /guest/diskimage1\n\n",
  );
});

Deno.test("domblklist of an unknown domain fails as virsh", async () => {
  const result = await runFresh(["domblklist", "nosuch"]);
  assert.equal(result.code, 1);
  assert.equal(result.stderr, "error: failed to get domain 'nosuch'\n");
});

Deno.test("domblklist --json prints the API's view", async () => {
  const view = JSON.parse((await runFresh(["domblklist", "test", "--json"])).stdout);
  assert.deepEqual(view.disks, [
    { type: "file", device: "disk", target: "vda", source: "/guest/diskimage1" },
  ]);
});
