import assert from "node:assert/strict";
import { withHarness } from "../_cli_harness.ts";
import { withTempDir } from "../../../support/temp_dir.ts";
import { encodeTestSaveImage, readTestSaveImage } from "../../../../src/storage/test_save_image.ts";

// The harness is `test:///default`, whose images have libvirt's test driver's layout (the QEMU
// layout's in-place rewrite is tests/actors/save_images_test.ts).
const IMAGE_XML = `<domain type='test'>
  <name>saved</name>
  <uuid>5b9d3b4e-3c2a-4f35-9d0f-2b1a6c1e0a11</uuid>
  <memory unit='KiB'>131072</memory>
  <vcpu placement='static'>1</vcpu>
  <os>
    <type arch='i686'>hvm</type>
  </os>
  <devices>
  </devices>
</domain>
`;

/** A save image of libvirt's test driver carrying {@linkcode IMAGE_XML}. */
async function image(dir: string): Promise<string> {
  const path = `${dir}/saved.save`;
  await Deno.writeFile(path, encodeTestSaveImage(IMAGE_XML));
  return path;
}

async function editor(dir: string, body: string): Promise<string> {
  const path = `${dir}/editor.sh`;
  await Deno.writeTextFile(path, `#!/bin/sh\n${body}\n`);
  await Deno.chmod(path, 0o755);
  return path;
}

Deno.test("save-image-edit writes the edited XML back (--paused accepted)", async () => {
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
      assert.match(await readTestSaveImage(path), /<vcpu placement='static'>2<\/vcpu>/);
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
      assert.match(await readTestSaveImage(path), /<vcpu placement='static'>1<\/vcpu>/);
    });
  });
});
