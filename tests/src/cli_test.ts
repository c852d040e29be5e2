import assert from "node:assert/strict";
import { VERSION } from "../../src/version.ts";

async function evirt(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", new URL("../../src/cli.ts", import.meta.url).pathname, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

Deno.test("evirt version prints the version and exits 0", async () => {
  const result = await evirt("version");
  assert.equal(result.code, 0);
  assert.equal(result.stdout, `evirt ${VERSION}\n\n`);
});

Deno.test("evirt with an unknown verb fails like virsh", async () => {
  const result = await evirt("frobnicate");
  assert.equal(result.code, 1);
  assert.equal(result.stdout, "");
  assert.match(result.stderr, /^error: unknown command: 'frobnicate'/);
});
