import assert from "node:assert/strict";
import { blockList, diskSource, findDisk } from "../../../src/projections/block_list.ts";
import { guestDefinition } from "./_stats_fixtures.ts";

Deno.test("blockList lists every disk with type, device, target, source and format", () => {
  assert.deepEqual(blockList(guestDefinition()), [
    { type: "file", device: "disk", target: "vda", source: "/images/vda.raw", format: "raw" },
    { type: "file", device: "disk", target: "vdb", source: "/images/vdb.raw", format: "raw" },
    { type: "file", device: "disk", target: "vdc", source: "/images/vdc.qcow2", format: "qcow2" },
    { type: "file", device: "cdrom", target: "hdc", source: null },
  ]);
});

Deno.test("diskSource takes a block device, a network name or a volume as libvirt does", () => {
  const target = { dev: "vdx" };
  assert.equal(
    diskSource({ type: "block", source: { dev: "/dev/sdb", hosts: [] }, target }),
    "/dev/sdb",
  );
  assert.equal(
    diskSource({ type: "network", source: { protocol: "nbd", name: "export", hosts: [] }, target }),
    "export",
  );
  assert.equal(
    diskSource({ type: "volume", source: { pool: "p", volume: "v", hosts: [] }, target }),
    "v",
  );
  assert.equal(diskSource({ source: { file: "", hosts: [] }, target }), undefined);
});

Deno.test("findDisk finds a target, or an unambiguous source path", () => {
  const definition = guestDefinition();
  assert.equal(findDisk(definition, "vdb"), 1);
  assert.equal(findDisk(definition, "/images/vdc.qcow2"), 2);
  assert.equal(findDisk(definition, "vdz"), undefined);
  assert.equal(findDisk(definition, "/images/none.raw"), undefined);
  definition.devices.disks[1].source = { file: "/images/vda.raw", hosts: [] };
  assert.equal(findDisk(definition, "/images/vda.raw"), undefined, "two disks share the path");
  assert.equal(findDisk(definition, "images/vda.raw"), undefined, "no slash: a target name");
});
