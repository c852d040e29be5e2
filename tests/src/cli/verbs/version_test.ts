import assert from "node:assert/strict";
import { VERSION } from "../../../../src/model/version.ts";
import { runFresh } from "../_cli_harness.ts";

Deno.test("version prints virsh's lines for evirt and the test hypervisor", async () => {
  const result = await runFresh(["version"]);
  assert.equal(result.code, 0);
  assert.equal(
    result.stdout,
    `Compiled against library: evirt ${VERSION}\n` +
      `Using library: evirt ${VERSION}\n` +
      "Using API: evirt v1\n" +
      `Running hypervisor: Test ${VERSION}\n\n`,
  );
});

Deno.test("version --daemon adds the service's version", async () => {
  const result = await runFresh(["version", "--daemon"]);
  assert.match(
    result.stdout,
    new RegExp(`\nRunning against daemon: ${VERSION.replaceAll(".", "\\.")}\n\n$`),
  );
});

Deno.test("version --json prints the API's view", async () => {
  const view = JSON.parse((await runFresh(["version", "--json"])).stdout);
  assert.equal(view.evirt, VERSION);
  assert.equal(view.hypervisors[0].driver, "test");
});
