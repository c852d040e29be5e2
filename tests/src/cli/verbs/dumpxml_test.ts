import assert from "node:assert/strict";
import { TEST_DEFAULT_DOMAIN_XML } from "../../../../src/service/test_hypervisor.ts";
import { runFresh } from "../_cli_harness.ts";

Deno.test("dumpxml --inactive prints the default domain's definition", async () => {
  const result = await runFresh(["dumpxml", "test", "--inactive"]);
  assert.equal(result.code, 0);
  assert.equal(result.stdout, `${TEST_DEFAULT_DOMAIN_XML}\n`);
});

Deno.test("dumpxml of a running domain carries its id", async () => {
  const result = await runFresh(["dumpxml", "test"]);
  assert.match(result.stdout, /^<domain type='test' id='1'>\n {2}<name>test<\/name>\n/);
  assert.match(result.stdout, /<mac address='aa:bb:cc:dd:ee:ff'\/>/);
  assert.match(result.stdout, /<source file='\/guest\/diskimage1'\/>/);
});

Deno.test("dumpxml --json prints the JSON model", async () => {
  const model = JSON.parse((await runFresh(["dumpxml", "test", "--json"])).stdout);
  assert.equal(model.modelVersion, 1);
  assert.equal(model.definition.name, "test");
  assert.equal(model.definition.memoryKiB, 8388608);
});

Deno.test("dumpxml of an unknown domain fails as virsh", async () => {
  const result = await runFresh(["dumpxml", "nosuch"]);
  assert.equal(result.code, 1);
  assert.equal(result.stderr, "error: failed to get domain 'nosuch'\n");
});
