import assert from "node:assert/strict";
import { withHarness } from "../_cli_harness.ts";
import { withTempDir } from "../../../support/temp_dir.ts";

/** Writes an executable editor script that runs `body` on the file in "$1". */
async function editor(dir: string, name: string, body: string): Promise<string> {
  const path = `${dir}/${name}.sh`;
  await Deno.writeTextFile(path, `#!/bin/sh\n${body}\n`);
  await Deno.chmod(path, 0o755);
  return path;
}

Deno.test("edit with an unchanged file says so and records no fact", async () => {
  await withHarness(async (harness) => {
    const before = harness.core.store.headPosition();
    const result = await harness.runWithEnv({ EDITOR: "true", VISUAL: undefined }, "edit", "test");
    assert.deepEqual(result, {
      code: 0,
      stdout: "Domain 'test' XML configuration not changed.\n\n",
      stderr: "",
    });
    assert.equal(harness.core.store.headPosition(), before);
  });
});

Deno.test("edit defines the edited file and prints virsh's line", async () => {
  await withTempDir("evirt-edit-", async (dir) => {
    await withHarness(async (harness) => {
      const script = await editor(
        dir,
        "vcpus",
        `sed -i "s|<vcpu placement='static'>2</vcpu>|<vcpu placement='static'>3</vcpu>|" "$1"`,
      );
      const before = harness.core.store.headPosition();
      const result = await harness.runWithEnv({ EDITOR: script }, "edit", "test");
      assert.deepEqual(result, {
        code: 0,
        stdout: "Domain 'test' XML configuration edited.\n\n",
        stderr: "",
      });
      assert.ok(harness.core.store.headPosition() > before);
      const xml = await harness.run("dumpxml", "test", "--inactive", "--xpath", "//vcpu/text()");
      assert.equal(xml.stdout, "3\n\n");
    });
  });
});

Deno.test("edit of an invalid file reports the error and changes nothing", async () => {
  await withTempDir("evirt-edit-", async (dir) => {
    await withHarness(async (harness) => {
      const script = await editor(
        dir,
        "break",
        `sed -i "s|<memory|<memoryX|; s|</memory>|</memoryX>|" "$1"`,
      );
      const before = harness.core.store.headPosition();
      const original = await harness.run("dumpxml", "test", "--inactive");
      const result = await harness.runWithEnv({ EDITOR: script }, "edit", "test");
      assert.equal(result.code, 1);
      assert.equal(result.stdout, "\n");
      assert.match(result.stderr, /^error: Failed\.\nerror: .+/);
      assert.equal(harness.core.store.headPosition(), before);
      assert.equal((await harness.run("dumpxml", "test", "--inactive")).stdout, original.stdout);
    });
  });
});

Deno.test("edit prefers $VISUAL to $EDITOR, as virsh", async () => {
  await withTempDir("evirt-edit-", async (dir) => {
    await withHarness(async (harness) => {
      const marker = `${dir}/visual-ran`;
      const visual = await editor(dir, "visual", `touch '${marker}'`);
      const result = await harness.runWithEnv({ VISUAL: visual, EDITOR: "false" }, "edit", "test");
      assert.equal(result.code, 0, result.stderr);
      assert.ok((await Deno.stat(marker)).isFile);
    });
  });
});
