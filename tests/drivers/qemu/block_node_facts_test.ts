import assert from "node:assert/strict";
import { blockNodeFacts } from "../../../drivers/qemu/block_node_facts.ts";
import { ErrorCode, isVirtError } from "../../../src/model/errors.ts";
import {
  blockstatsEntry,
  PATHS,
  repliesAfterWrites,
  VDA,
  VDB,
  VDC,
} from "./_block_qmp_fixtures.ts";

Deno.test("blockNodeFacts() gathers a qcow2 disk's nodes and figures", () => {
  const facts = blockNodeFacts(repliesAfterWrites(), { target: "vdc", nodeName: VDC.formatNode });
  assert.deepEqual(facts, {
    formatNodeName: "fmt-vdc",
    fileNodeName: "file-vdc",
    counters: {
      readRequests: 0,
      readBytes: 0,
      readTimeNs: 0,
      writeRequests: 0,
      writeBytes: 0,
      writeTimeNs: 0,
      flushRequests: 0,
      flushTimeNs: 0,
    },
    highestOffsetBytes: 6684672,
    formatNode: {
      driver: "qcow2",
      virtualSizeBytes: 1073741824,
      actualSizeBytes: 6627328,
      filename: PATHS.vdc,
    },
    fileNode: {
      driver: "file",
      virtualSizeBytes: 6684672,
      actualSizeBytes: 6627328,
      filename: PATHS.vdc,
    },
  });
});

Deno.test("blockNodeFacts() matches a qdev id against QEMU's QOM path of the backend", () => {
  const replies = repliesAfterWrites();
  assert.equal(
    blockNodeFacts(replies, { target: "vdb", qdevId: VDB.alias })?.formatNodeName,
    "fmt-vdb",
  );
  assert.equal(
    blockNodeFacts(replies, {
      target: "vdb",
      qdevId: `/machine/peripheral/${VDB.alias}/virtio-backend`,
    })
      ?.formatNodeName,
    "fmt-vdb",
  );
  // A prefix of another id must not match: virtio-disk1 is not virtio-disk10.
  const other = blockstatsEntry({ ...VDB, alias: "virtio-disk10", formatNode: "fmt-x" }, {
    fileHighestOffsetBytes: 0,
  });
  assert.equal(
    blockNodeFacts({ blockstats: [other], namedNodes: [] }, { target: "vdb", qdevId: VDB.alias }),
    undefined,
  );
});

Deno.test("blockNodeFacts() matches a legacy -drive id against device", () => {
  const entry = blockstatsEntry(VDA, { fileHighestOffsetBytes: 512 });
  entry["device"] = "drive-virtio-disk0";
  delete entry["qdev"];
  const facts = blockNodeFacts({ blockstats: [entry], namedNodes: [] }, {
    target: "vda",
    qdevId: "drive-virtio-disk0",
  });
  assert.equal(facts?.highestOffsetBytes, 512);
  assert.equal(facts?.formatNode, undefined, "nodes QEMU does not list stay undefined");
});

Deno.test("blockNodeFacts() never matches the empty device name of -blockdev disks", () => {
  assert.equal(blockNodeFacts(repliesAfterWrites(), { target: "vda", qdevId: "" }), undefined);
});

Deno.test("blockNodeFacts() prefers the node name over the qdev id", () => {
  const facts = blockNodeFacts(repliesAfterWrites(), {
    target: "vda",
    nodeName: VDA.formatNode,
    qdevId: VDC.alias,
  });
  assert.equal(facts?.formatNodeName, "fmt-vda");
});

Deno.test("blockNodeFacts() leaves out counters QEMU does not send", () => {
  const entry = blockstatsEntry(VDA, { fileHighestOffsetBytes: 0 });
  entry["stats"] = { "rd_operations": 3 };
  const facts = blockNodeFacts({ blockstats: [entry], namedNodes: [] }, {
    target: "vda",
    nodeName: VDA.formatNode,
  });
  assert.deepEqual(facts?.counters, { readRequests: 3 });
});

Deno.test("blockNodeFacts() refuses a named node without a driver", () => {
  const replies = repliesAfterWrites();
  (replies.namedNodes as Record<string, unknown>[])[2]["drv"] = 7;
  assert.throws(
    () => blockNodeFacts(replies, { target: "vda", nodeName: VDA.formatNode }),
    (error: unknown) =>
      isVirtError(error, ErrorCode.INTERNAL_ERROR) &&
      error.message ===
        "unexpected QEMU reply: query-named-block-nodes[2].drv is not a non-empty string",
  );
});

Deno.test("blockNodeFacts() refuses a blockstats entry that is not an object", () => {
  assert.throws(
    () => blockNodeFacts({ blockstats: [null], namedNodes: [] }, { target: "vda", nodeName: "x" }),
    (error: unknown) =>
      isVirtError(error, ErrorCode.INTERNAL_ERROR) && error.where === "query-blockstats[0]",
  );
});

Deno.test("blockNodeFacts() refuses a fractional count", () => {
  const replies = repliesAfterWrites();
  const entry = (replies.blockstats as Record<string, Record<string, unknown>>[])[1];
  entry["stats"]["rd_bytes"] = 1.5;
  assert.throws(
    () => blockNodeFacts(replies, { target: "vdb", nodeName: VDB.formatNode }),
    (error: unknown) =>
      isVirtError(error, ErrorCode.INTERNAL_ERROR) &&
      error.message === "unexpected QEMU reply: query-blockstats[1].stats.rd_bytes is not a byte " +
          "or operation count: 1.5",
  );
});
