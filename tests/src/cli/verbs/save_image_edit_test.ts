import assert from "node:assert/strict";
import { withHarness } from "../_cli_harness.ts";
import { withTempDir } from "../../../support/temp_dir.ts";
import { encodeSaveHeader, readSaveHeader } from "../../../../src/storage/save_image.ts";

const IMAGE_XML = `<domain type='qemu'>
  <name>saved</name>
  <uuid>5b9d3b4e-3c2a-4f35-9d0f-2b1a6c1e0a11</uuid>
  <memory unit='KiB'>131072</memory>
  <vcpu placement='static'>1</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
  </os>
  <devices>
  </devices>
</domain>
`;

/** A complete save image carrying {@linkcode IMAGE_XML}, the guest running when saved. */
async function image(dir: string): Promise<string> {
  const path = `${dir}/saved.save`;
  const header = encodeSaveHeader({ xml: IMAGE_XML, wasRunning: true }, true);
  await Deno.writeFile(path, new Uint8Array([...header, 1, 2, 3]));
  return path;
}

async function editor(dir: string, body: string): Promise<string> {
  const path = `${dir}/editor.sh`;
  await Deno.writeTextFile(path, `#!/bin/sh\n${body}\n`);
  await Deno.chmod(path, 0o755);
  return path;
}

Deno.test("save-image-edit writes the edited XML back, --paused sets how it restores", async () => {
  await withTempDir("evirt-save-edit-", async (dir) => {
    await withHarness(async (harness) => {
      const path = await image(dir);
      const script = await editor(
        dir,
        `sed -i "s|<vcpu placement='static'>1</vcpu>|<vcpu placement='static'>2</vcpu>|" "$1"`,
      );
      const result = await harness.runWithEnv(
        { EDITOR: script },
        "save-image-edit",
        path,
        "--paused",
      );
      assert.deepEqual(result, { code: 0, stdout: `State file ${path} edited.\n\n`, stderr: "" });
      const header = await readSaveHeader(path);
      assert.match(header.xml, /<vcpu placement='static'>2<\/vcpu>/);
      assert.equal(header.wasRunning, false);
    });
  });
});

Deno.test("save-image-edit with nothing changed says so; --running with --paused is refused", async () => {
  await withTempDir("evirt-save-edit-", async (dir) => {
    await withHarness(async (harness) => {
      const path = await image(dir);
      const unchanged = await harness.runWithEnv({ EDITOR: "true" }, "save-image-edit", path);
      assert.deepEqual(unchanged, {
        code: 0,
        stdout: `Saved image ${path} XML configuration not changed.\n\n`,
        stderr: "",
      });
      const both = await harness.run("save-image-edit", path, "--running", "--paused");
      assert.equal(both.code, 1);
      assert.match(both.stderr, /Options --running and --paused are mutually exclusive/);
      assert.equal((await readSaveHeader(path)).wasRunning, true);
    });
  });
});
