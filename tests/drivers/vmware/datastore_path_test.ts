import assert from "node:assert/strict";
import {
  EVERY_FILE_EXISTS,
  formatVmxFileName,
  parseVmxFileName,
} from "../../../drivers/vmware/datastore_path.ts";

Deno.test("a /vmfs/volumes path becomes a [datastore] path and back", () => {
  const parsed = parseVmxFileName("/vmfs/volumes/ds 1/vm/disk.vmdk", EVERY_FILE_EXISTS, false);
  assert.deepEqual(parsed, { ok: true, source: "[ds 1] vm/disk.vmdk" });
  assert.equal(formatVmxFileName("[ds 1] vm/disk.vmdk"), "/vmfs/volumes/ds 1/vm/disk.vmdk");
});

Deno.test("a bare file name lives beside the .vmx file; other absolute paths stay", () => {
  assert.deepEqual(parseVmxFileName("disk.vmdk", EVERY_FILE_EXISTS, false), {
    ok: true,
    source: "[datastore] directory/disk.vmdk",
  });
  assert.deepEqual(parseVmxFileName("/dev/sr0", EVERY_FILE_EXISTS, false), {
    ok: true,
    source: "/dev/sr0",
  });
  assert.equal(formatVmxFileName("/dev/sr0"), "/dev/sr0");
});

Deno.test("relative paths with a directory are refused both ways", () => {
  assert.equal(parseVmxFileName("dir/disk.vmdk", EVERY_FILE_EXISTS, false).ok, false);
  assert.equal(formatVmxFileName("dir/disk.vmdk"), undefined);
  assert.equal(formatVmxFileName("[] disk.vmdk"), undefined);
});

Deno.test("a missing file empties a source where allowed and refuses elsewhere", () => {
  const none = () => false;
  assert.deepEqual(parseVmxFileName("/vmfs/volumes/ds/x.iso", none, true), { ok: true });
  assert.equal(parseVmxFileName("/vmfs/volumes/ds/x.vmdk", none, false).ok, false);
});

Deno.test("a datastore path without a path names the datastore's root", () => {
  assert.equal(formatVmxFileName("[ds]"), "/vmfs/volumes/ds/");
});
