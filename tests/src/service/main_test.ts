import assert from "node:assert/strict";

Deno.test("the service entry rejects an invalid EVIRT_STATE_DIR naming the variable", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", new URL("../../../src/service/main.ts", import.meta.url).pathname],
    env: { EVIRT_STATE_DIR: "relative/dir" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 1);
  assert.match(new TextDecoder().decode(output.stderr), /EVIRT_STATE_DIR must be an absolute path/);
});
