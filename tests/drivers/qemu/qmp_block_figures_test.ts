import assert from "node:assert/strict";
import { qmpBlockFigures } from "../../../drivers/qemu/qmp_block_figures.ts";
import { PATHS, repliesAfterWrites, VDA, VDC } from "./_block_qmp_fixtures.ts";

Deno.test("qmpBlockFigures() reads a qcow2 file's figures in evirt's terms", () => {
  const figures = qmpBlockFigures(repliesAfterWrites(), {
    target: "vdc",
    nodeName: VDC.formatNode,
    path: PATHS.vdc,
  });
  assert.equal(figures.reported, true);
  assert.equal(figures.highestOffsetBytes, 6684672, "the protocol node's wr_highest_offset");
  assert.deepEqual(figures.image, {
    format: "qcow2",
    containerKind: "file",
    capacityBytes: 1073741824,
    allocatedBytes: 6627328,
  });
  assert.equal(figures.imageGap, undefined);
});

Deno.test("qmpBlockFigures() turns a malformed reply into a fault naming where", () => {
  const figures = qmpBlockFigures({ blockstats: { "return": [] }, namedNodes: [] }, {
    target: "vda",
    nodeName: VDA.formatNode,
  });
  assert.equal(figures.reported, false);
  assert.deepEqual(figures.fault, {
    message: "unexpected QEMU reply: query-blockstats is not an array",
    where: "query-blockstats",
  });
});

Deno.test("qmpBlockFigures() reports a node QEMU does not list as an image gap", () => {
  const replies = repliesAfterWrites();
  replies.namedNodes = (replies.namedNodes as Record<string, unknown>[]).filter((node) =>
    node["node-name"] !== VDA.fileNode
  );
  const figures = qmpBlockFigures(replies, { target: "vda", nodeName: VDA.formatNode });
  assert.equal(figures.image?.containerKind, undefined);
  assert.equal(figures.imageGap, `QEMU did not list block node '${VDA.fileNode}' of disk 'vda'`);
});

Deno.test("qmpBlockFigures() has no figures for a disk QEMU keeps no statistics for", () => {
  const figures = qmpBlockFigures(repliesAfterWrites(), { target: "vdz", qdevId: "virtio-disk9" });
  assert.deepEqual(figures, { target: "vdz", reported: false, counters: {} });
});
