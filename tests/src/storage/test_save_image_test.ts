import assert from "node:assert/strict";
import { ErrorCode, isVirtError } from "../../../src/model/errors.ts";
import {
  encodeTestSaveImage,
  readTestSaveImage,
  writeTestSaveImage,
} from "../../../src/storage/test_save_image.ts";
import { withTempDir } from "../../support/temp_dir.ts";

Deno.test("test driver images: the magic with its NUL, the length little-endian, the XML", async () => {
  await withTempDir("evirt-test-image-", async (dir) => {
    const path = `${dir}/a.img`;
    await writeTestSaveImage(path, "test", "<domain/>");
    const bytes = await Deno.readFile(path);
    assert.equal(new TextDecoder().decode(bytes.subarray(0, 15)), "TestGuestMagic\0");
    assert.deepEqual([...bytes.subarray(15, 19)], [9, 0, 0, 0]);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    assert.equal(await readTestSaveImage(path), "<domain/>");
  });
});

Deno.test("test driver images: libvirt's errors for missing, short, foreign and oversized files", async () => {
  await withTempDir("evirt-test-image-", async (dir) => {
    const cases: [string, Uint8Array | undefined, number, string][] = [
      [
        "missing",
        undefined,
        ErrorCode.SYSTEM_ERROR,
        "cannot read domain image '%': No such file or directory",
      ],
      [
        "short",
        new TextEncoder().encode("hello\n"),
        ErrorCode.SYSTEM_ERROR,
        "incomplete save header in '%': Success",
      ],
      [
        "foreign",
        new TextEncoder().encode("LibvirtQemudSave and more"),
        ErrorCode.INTERNAL_ERROR,
        "mismatched header magic",
      ],
      [
        "nolength",
        encodeTestSaveImage("<domain/>").subarray(0, 17),
        ErrorCode.SYSTEM_ERROR,
        "failed to read metadata length in '%': Success",
      ],
      [
        "cut",
        encodeTestSaveImage("<domain/>").subarray(0, 22),
        ErrorCode.SYSTEM_ERROR,
        "incomplete metadata in '%': Success",
      ],
      [
        "huge",
        encodeTestSaveImage("x".repeat(8193)),
        ErrorCode.INTERNAL_ERROR,
        "length of metadata out of range",
      ],
    ];
    for (const [name, bytes, code, message] of cases) {
      const path = `${dir}/${name}.img`;
      if (bytes !== undefined) await Deno.writeFile(path, bytes);
      await assert.rejects(
        () => readTestSaveImage(path),
        (error) => isVirtError(error, code) && error.message === message.replace("%", path),
        name,
      );
    }
    await assert.rejects(
      () => writeTestSaveImage(`${dir}/no/such/x.img`, "test", "<domain/>"),
      (error) =>
        isVirtError(error, ErrorCode.SYSTEM_ERROR) &&
        error.message ===
          `saving domain 'test' to '${dir}/no/such/x.img': open failed: No such file or directory`,
    );
  });
});
