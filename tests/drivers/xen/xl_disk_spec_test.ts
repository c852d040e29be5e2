import assert from "node:assert/strict";
import { parseXlDiskSpec } from "../../../drivers/xen/xl_disk_spec.ts";

Deno.test("xl disk spec: named keys, target= eating the rest", () => {
  assert.deepEqual(
    parseXlDiskSpec("format=qcow2,vdev=xvda,access=ro,backendtype=qdisk,target=/a,b c"),
    {
      readwrite: false,
      cdrom: false,
      format: "qcow2",
      vdev: "xvda",
      backendtype: "qdisk",
      target: "/a,b c",
    },
  );
});

Deno.test("xl disk spec: positional target, format, vdev, access with empty defaults", () => {
  assert.deepEqual(parseXlDiskSpec("/dev/vg/g,,hda,,backendtype=phy"), {
    readwrite: true,
    cdrom: false,
    target: "/dev/vg/g",
    vdev: "hda",
    backendtype: "phy",
  });
  assert.deepEqual(parseXlDiskSpec("/iso, raw, hdc, r, devtype=cdrom"), {
    readwrite: false,
    cdrom: true,
    target: "/iso",
    format: "raw",
    vdev: "hdc",
  });
});

Deno.test("xl disk spec: xm-style entries with a deprecated prefix and :cdrom", () => {
  const disk = parseXlDiskSpec("phy:/dev/vg/g,xvda,w");
  assert.equal(disk.target, "/dev/vg/g");
  assert.equal(disk.vdev, "xvda");
  assert.equal(disk.readwrite, true);
  const cdrom = parseXlDiskSpec("file:/iso,hdc:cdrom,r");
  assert.equal(cdrom.cdrom, true);
  assert.equal(cdrom.vdev, "hdc");
  assert.equal(cdrom.readwrite, false);
  const empty = parseXlDiskSpec("vdev=hdd,devtype=cdrom");
  assert.equal(empty.format, "empty");
  assert.equal(empty.target, undefined);
});

Deno.test("xl disk spec: unknown values, missing vdev and extra positionals are refused", () => {
  for (
    const spec of [
      "format=floppy,vdev=xvda,target=/a",
      "/a,raw,xvda,w,extra",
      "/a,raw",
      "vdev=xvda,access=sometimes,target=/a",
      "bogus=1,vdev=xvda,target=/a",
    ]
  ) {
    assert.throws(() => parseXlDiskSpec(spec), /unsupported configuration: disk spec|disk spec/);
  }
});
