import assert from "node:assert/strict";
import { defineSaveImage } from "../../actors/save_images.ts";
import { encodeSaveHeader, readSaveHeader } from "../../src/storage/save_image.ts";
import { encodeTestSaveImage, readTestSaveImage } from "../../src/storage/test_save_image.ts";
import { parseDomainXml } from "../../src/xml/mod.ts";
import { withTempDir } from "../support/temp_dir.ts";

const XML = (type: string, vcpus: number) =>
  `<domain type='${type}'>
  <name>saved</name>
  <uuid>5b9d3b4e-3c2a-4f35-9d0f-2b1a6c1e0a11</uuid>
  <memory unit='KiB'>131072</memory>
  <vcpu placement='static'>${vcpus}</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <devices/>
</domain>
`;

Deno.test("save-image-define rewrites a QEMU-layout image's XML in place; --paused sets how it restores", async () => {
  await withTempDir("evirt-save-images-", async (dir) => {
    const path = `${dir}/saved.save`;
    const header = encodeSaveHeader({ xml: XML("qemu", 1), wasRunning: true }, true);
    await Deno.writeFile(path, new Uint8Array([...header, 1, 2, 3]));
    await defineSaveImage(path, parseDomainXml(XML("qemu", 2)), { paused: true });
    const after = await readSaveHeader(path);
    assert.match(after.xml, /<vcpu placement='static'>2<\/vcpu>/);
    assert.equal(after.wasRunning, false);
    const bytes = await Deno.readFile(path);
    assert.deepEqual([...bytes.subarray(bytes.length - 3)], [1, 2, 3]);
  });
});

Deno.test("save-image-define with a test-layout reader rewrites libvirt's test driver's image", async () => {
  await withTempDir("evirt-save-images-", async (dir) => {
    const path = `${dir}/saved.img`;
    await Deno.writeFile(path, encodeTestSaveImage(XML("test", 1)));
    await defineSaveImage(path, parseDomainXml(XML("test", 2)), {}, readTestSaveImage);
    assert.match(await readTestSaveImage(path), /<vcpu placement='static'>2<\/vcpu>/);
    // Another domain is refused, the image unchanged.
    const other = XML("test", 3).replace("<name>saved</name>", "<name>other</name>");
    await assert.rejects(
      () => defineSaveImage(path, parseDomainXml(other), {}, readTestSaveImage),
      /does not match source/,
    );
    assert.match(await readTestSaveImage(path), /<vcpu placement='static'>2<\/vcpu>/);
  });
});
