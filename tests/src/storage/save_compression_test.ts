import assert from "node:assert/strict";
import { ErrorCode, isVirtError } from "../../../src/model/errors.ts";
import { compressionCommand } from "../../../src/storage/save_compression.ts";
import { SAVE_IMAGE_FORMATS, saveFormatNumber } from "../../../src/model/save_image_format.ts";

Deno.test("save image formats carry libvirt's header numbers", () => {
  assert.deepEqual(
    SAVE_IMAGE_FORMATS.map((name) => [name, saveFormatNumber(name)]),
    [["raw", 0], ["gzip", 1], ["bzip2", 2], ["xz", 3], ["lzop", 4], ["zstd", 5]],
  );
  assert.throws(
    () => saveFormatNumber("lzma"),
    (error) => isVirtError(error, ErrorCode.CONFIG_UNSUPPORTED),
  );
});

Deno.test("a compressed stream goes through its program with -c, and back with -dc", () => {
  assert.equal(compressionCommand(0, false), undefined);
  assert.deepEqual(compressionCommand(1, false), ["gzip", "-c"]);
  assert.deepEqual(compressionCommand(5, true), ["zstd", "-dc"]);
  assert.throws(
    () => compressionCommand(9, true),
    (error) =>
      isVirtError(error, ErrorCode.OPERATION_FAILED) &&
      error.message === "Invalid compressed save format 9",
  );
});
