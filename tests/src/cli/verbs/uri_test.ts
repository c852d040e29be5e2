import assert from "node:assert/strict";
import { runFresh } from "../_cli_harness.ts";

Deno.test("uri prints -c's URI, else EVIRT_DEFAULT_URI, else evirt:///system", async () => {
  assert.equal(
    (await runFresh(["-c", "http://127.0.0.1:7000", "uri"])).stdout,
    "http://127.0.0.1:7000\n\n",
  );
  assert.equal((await runFresh(["uri"])).stdout, "test:///default\n\n");
  assert.equal((await runFresh(["uri"], { EVIRT_DEFAULT_URI: "" })).stdout, "evirt:///system\n\n");
});

Deno.test("uri refuses a URI evirt cannot connect to", async () => {
  const result = await runFresh(["-c", "qemu:///system", "uri"]);
  assert.equal(result.code, 1);
  assert.match(
    result.stderr,
    /^error: invalid argument: -c has an unsupported URI 'qemu:\/\/\/system'/,
  );
});
