/**
 * QEMU's block replies through the QEMU driver's translation (`qmpBlockFigures`) and then the
 * neutral block info rules: reference §4's and §5's figures from QEMU's own replies.
 *
 * Over 400 lines on purpose: one test per rule and per reply shape QEMU 7.2 gives.
 */

import assert from "node:assert/strict";
import type { BlockQmpReplies, RunningDisk } from "../../../drivers/qemu/block_node_facts.ts";
import { qmpBlockFigures } from "../../../drivers/qemu/qmp_block_figures.ts";
import { ErrorCode, isVirtError } from "../../../src/model/errors.ts";
import {
  type BlockInfo,
  blockInfoRunning,
  blockStatsFields,
} from "../../../src/storage/block_info.ts";
import type { StorageReader } from "../../../src/storage/storage_info.ts";
import { fakeStorage, GiB, info, MiB } from "../../src/storage/_fake_storage.ts";
import {
  blockstatsEntry,
  FILES_AFTER_WRITES,
  FILES_BEFORE_WRITES,
  namedNode,
  PATHS,
  repliesAfterWrites,
  repliesBeforeWrites,
  VDA,
  VDB,
  VDC,
} from "./_block_qmp_fixtures.ts";

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

// ---------------------------------------------------------------------------------------------
// Running rules, GetBlockInfo contract, reference §4 figures, from QEMU's replies through the
// QEMU driver's translation (qmpBlockFigures)

/** QEMU's replies through the QEMU driver's translation, then the neutral rules. */
async function runningInfo(
  replies: BlockQmpReplies,
  disk: RunningDisk,
  readStorage: StorageReader,
): Promise<BlockInfo> {
  return await blockInfoRunning(qmpBlockFigures(replies, disk), readStorage);
}

Deno.test("blockInfoRunning() of QEMU's figures reports reference §4's sparse raw vda", async () => {
  const storage = fakeStorage(FILES_AFTER_WRITES);
  const result = await runningInfo(
    repliesAfterWrites(),
    { target: "vda", nodeName: VDA.formatNode, path: PATHS.vda },
    storage,
  );
  assert.deepEqual(result, info(1073741824, 106954752, 5251072));
  assert.deepEqual(storage.reads, [], "allocation differs from actual-size: no storage read");
});

Deno.test("blockInfoRunning() of QEMU's figures reports reference §4's fully allocated raw vdb", async () => {
  const storage = fakeStorage(FILES_AFTER_WRITES);
  const result = await runningInfo(
    repliesAfterWrites(),
    { target: "vdb", nodeName: VDB.formatNode, path: PATHS.vdb },
    storage,
  );
  assert.deepEqual(result, info(67108864, 9437184, 67112960));
  assert.deepEqual(storage.reads, []);
});

Deno.test("blockInfoRunning() of QEMU's figures reports reference §4's qcow2 vdc with physical re-read", async () => {
  const storage = fakeStorage(FILES_AFTER_WRITES);
  const result = await runningInfo(
    repliesAfterWrites(),
    { target: "vdc", nodeName: VDC.formatNode, path: PATHS.vdc },
    storage,
  );
  assert.deepEqual(result, info(1073741824, 6627328, 6684672));
  assert.deepEqual(storage.reads, [PATHS.vdc], "allocation equals actual-size: st_size re-read");
});

Deno.test("blockInfoRunning() of QEMU's figures before any write reports allocation = actual-size, physical = st_size", async () => {
  const storage = fakeStorage(FILES_BEFORE_WRITES);
  const replies = repliesBeforeWrites();
  const read = (target: string, nodeName: string, path: string) =>
    runningInfo(replies, { target, nodeName, path }, storage);
  assert.deepEqual(await read("vda", VDA.formatNode, PATHS.vda), info(GiB, 4096, GiB));
  assert.deepEqual(
    await read("vdb", VDB.formatNode, PATHS.vdb),
    info(64 * MiB, 67112960, 64 * MiB),
  );
  assert.deepEqual(await read("vdc", VDC.formatNode, PATHS.vdc), info(GiB, 200704, 196624));
});

Deno.test("blockInfoRunning() of QEMU's figures keeps actual-size as physical when the re-read fails", async () => {
  const result = await runningInfo(
    repliesAfterWrites(),
    { target: "vdc", nodeName: VDC.formatNode, path: "/images/gone.qcow2" },
    fakeStorage({}),
  );
  assert.deepEqual(result, info(GiB, 6627328, 6627328));
});

Deno.test("blockInfoRunning() of QEMU's figures lets a reader's programming error surface", async () => {
  const broken: StorageReader = () => Promise.reject(new TypeError("Broken reader"));
  await assert.rejects(
    runningInfo(repliesAfterWrites(), {
      target: "vdc",
      nodeName: VDC.formatNode,
      path: PATHS.vdc,
    }, broken),
    TypeError,
  );
});

Deno.test("blockInfoRunning() of QEMU's figures re-reads the file node's filename when no path is given", async () => {
  const storage = fakeStorage(FILES_AFTER_WRITES);
  const result = await runningInfo(repliesAfterWrites(), {
    target: "vdc",
    nodeName: VDC.formatNode,
  }, storage);
  assert.deepEqual(result, info(GiB, 6627328, 6684672));
  assert.deepEqual(storage.reads, [PATHS.vdc]);
});

Deno.test("blockInfoRunning() of QEMU's figures finds a disk by its qdev id", async () => {
  const result = await runningInfo(
    repliesAfterWrites(),
    { target: "vda", qdevId: VDA.alias, path: PATHS.vda },
    fakeStorage(FILES_AFTER_WRITES),
  );
  assert.deepEqual(result, info(GiB, 106954752, 5251072));
});

Deno.test("blockInfoRunning() of QEMU's figures falls back to the qdev id when the node name is unknown", async () => {
  const result = await runningInfo(
    repliesAfterWrites(),
    { target: "vdb", nodeName: "renamed", qdevId: VDB.alias, path: PATHS.vdb },
    fakeStorage(FILES_AFTER_WRITES),
  );
  assert.deepEqual(result, info(64 * MiB, 9437184, 67112960));
});

Deno.test("blockInfoRunning() of QEMU's figures reads per-node replies of query-blockstats with query-nodes", async () => {
  const replies = repliesAfterWrites();
  // query-nodes: true lists every node, without qdev, the protocol nodes first.
  const perNode = (replies.blockstats as Record<string, unknown>[]).flatMap((entry) => {
    const parent = entry["parent"] as Record<string, unknown>;
    const { qdev: _qdev, device: _device, ...formatEntry } = entry;
    return [
      { "stats": parent["stats"], "node-name": parent["node-name"], "driver-specific": {} },
      formatEntry,
    ];
  });
  const result = await runningInfo(
    { blockstats: perNode, namedNodes: replies.namedNodes },
    { target: "vda", nodeName: VDA.formatNode, path: PATHS.vda },
    fakeStorage(FILES_AFTER_WRITES),
  );
  assert.deepEqual(result, info(GiB, 106954752, 5251072));
});

Deno.test("blockInfoRunning() of QEMU's figures uses a root protocol node's own highest offset", async () => {
  // A raw disk without a format layer: the device's node is the file node itself.
  const entry = blockstatsEntry(VDA, { fileHighestOffsetBytes: 106954752 });
  delete entry["parent"];
  entry["node-name"] = VDA.fileNode;
  const result = await runningInfo(
    {
      blockstats: [entry],
      namedNodes: [namedNode({ name: VDA.fileNode, driver: "file", filename: PATHS.vda }, {
        virtualSizeBytes: GiB,
        actualSizeBytes: 5251072,
      })],
    },
    { target: "vda", qdevId: VDA.alias },
    fakeStorage(FILES_AFTER_WRITES),
  );
  assert.deepEqual(result, info(GiB, 106954752, 5251072));
});

/** qcow2 on a loop device as QEMU 7.2 reports it: actual-size 0 on both nodes. */
function qcow2OnBlockDevice(fileHighestOffsetBytes: number) {
  const disk = { ...VDC, fileDriver: "host_device" };
  return {
    blockstats: [blockstatsEntry(disk, { fileHighestOffsetBytes })],
    namedNodes: [
      namedNode({ name: VDC.formatNode, driver: "qcow2", filename: "/dev/loop0" }, {
        virtualSizeBytes: 32 * MiB,
        actualSizeBytes: 0,
      }),
      namedNode({ name: VDC.fileNode, driver: "host_device", filename: "/dev/loop0" }, {
        virtualSizeBytes: 64 * MiB,
        actualSizeBytes: 0,
      }),
    ],
  };
}

Deno.test("blockInfoRunning() of QEMU's figures gives qcow2 on a block device its highest offset and device size", async () => {
  const storage = fakeStorage({ "/dev/loop0": { sizeBytes: 64 * MiB } }, "block");
  const result = await runningInfo(qcow2OnBlockDevice(1376256), {
    target: "vdc",
    nodeName: VDC.formatNode,
  }, storage);
  assert.deepEqual(result, info(32 * MiB, 1376256, 64 * MiB));
  assert.deepEqual(storage.reads, ["/dev/loop0"], "actual-size 0: the device's size is re-read");
});

Deno.test("blockInfoRunning() of QEMU's figures gives an unwritten qcow2 block device allocation 0", async () => {
  const storage = fakeStorage({ "/dev/loop0": { sizeBytes: 64 * MiB } }, "block");
  const result = await runningInfo(qcow2OnBlockDevice(0), {
    target: "vdc",
    nodeName: VDC.formatNode,
  }, storage);
  assert.deepEqual(result, info(32 * MiB, 0, 64 * MiB));
});

Deno.test("blockInfoRunning() of QEMU's figures refuses a disk QEMU has no stats for", async () => {
  await assert.rejects(
    runningInfo(repliesAfterWrites(), {
      target: "vdz",
      nodeName: "fmt-vdz",
      qdevId: "virtio-disk9",
    }, fakeStorage({})),
    (error: unknown) =>
      isVirtError(error, ErrorCode.INTERNAL_ERROR) &&
      error.message === "failed to gather stats for disk 'vdz'",
  );
});

Deno.test("blockInfoRunning() of QEMU's figures refuses a disk whose node QEMU does not list", async () => {
  const replies = repliesAfterWrites();
  const namedNodes = (replies.namedNodes as Record<string, unknown>[]).filter((node) =>
    node["node-name"] !== VDA.formatNode
  );
  await assert.rejects(
    runningInfo(
      { ...replies, namedNodes },
      { target: "vda", nodeName: VDA.formatNode },
      fakeStorage({}),
    ),
    (error: unknown) =>
      isVirtError(error, ErrorCode.INTERNAL_ERROR) &&
      error.message === "QEMU did not list block node 'fmt-vda' of disk 'vda'",
  );
});

Deno.test("blockInfoRunning() of QEMU's figures refuses a format node without a virtual size", async () => {
  const replies = repliesAfterWrites();
  const node = (replies.namedNodes as Record<string, unknown>[]).find((node) =>
    node["node-name"] === VDA.formatNode
  )!;
  delete (node["image"] as Record<string, unknown>)["virtual-size"];
  await assert.rejects(
    runningInfo(replies, { target: "vda", nodeName: VDA.formatNode }, fakeStorage({})),
    (error: unknown) =>
      isVirtError(error, ErrorCode.INTERNAL_ERROR) &&
      error.message === "QEMU did not report the virtual size of disk 'vda'",
  );
});

Deno.test("blockInfoRunning() of QEMU's figures refuses a malformed highest offset naming where it is", async () => {
  const replies = repliesAfterWrites();
  const entry =
    (replies.blockstats as Record<string, Record<string, Record<string, unknown>>>[])[0];
  entry["parent"]["stats"]["wr_highest_offset"] = -1;
  await assert.rejects(
    runningInfo(replies, { target: "vda", nodeName: VDA.formatNode }, fakeStorage({})),
    (error: unknown) =>
      isVirtError(error, ErrorCode.INTERNAL_ERROR) &&
      error.where === "query-blockstats[0].parent.stats.wr_highest_offset",
  );
});

Deno.test("blockInfoRunning() of QEMU's figures refuses a reply that is not a list", async () => {
  await assert.rejects(
    runningInfo({ blockstats: { "return": [] }, namedNodes: [] }, {
      target: "vda",
      nodeName: "x",
    }, fakeStorage({})),
    (error: unknown) =>
      isVirtError(error, ErrorCode.INTERNAL_ERROR) &&
      error.message === "unexpected QEMU reply: query-blockstats is not an array",
  );
});

Deno.test("blockInfoRunning() of QEMU's figures requires a node name or a qdev id", async () => {
  await assert.rejects(
    runningInfo(repliesAfterWrites(), { target: "vda" }, fakeStorage({})),
    TypeError,
  );
});

// ---------------------------------------------------------------------------------------------
// Stats contract

async function statsOf(
  index: number,
  disk: { target: string; nodeName: string; path: string },
  replies = repliesAfterWrites(),
  files: Record<string, { sizeBytes: number; allocatedBytes: number }> = FILES_AFTER_WRITES,
): Promise<Record<string, number>> {
  const fields = await blockStatsFields(index, {
    state: "running",
    figures: qmpBlockFigures(replies, disk),
    readStorage: fakeStorage(files),
  });
  return Object.fromEntries(fields.map(({ key, value }) => [key, value]));
}

Deno.test("blockStatsFields() of QEMU's figures reports reference §5's vda: highest offset and actual-size", async () => {
  const stats = await statsOf(0, { target: "vda", nodeName: VDA.formatNode, path: PATHS.vda });
  assert.equal(stats["block.0.allocation"], 106954752);
  assert.equal(stats["block.0.capacity"], 1073741824);
  assert.equal(stats["block.0.physical"], 5251072);
});

Deno.test("blockStatsFields() of QEMU's figures reports reference §5's vdc: the file node's highest offset", async () => {
  const stats = await statsOf(2, { target: "vdc", nodeName: VDC.formatNode, path: PATHS.vdc });
  assert.equal(stats["block.2.allocation"], 6684672, "not the format node's 735051776");
  assert.equal(stats["block.2.capacity"], 1073741824);
  assert.equal(stats["block.2.physical"], 6627328);
});

Deno.test("blockStatsFields() of QEMU's figures reports vdb with the figures of its file", async () => {
  const stats = await statsOf(1, { target: "vdb", nodeName: VDB.formatNode, path: PATHS.vdb });
  assert.equal(stats["block.1.allocation"], 9437184);
  assert.equal(stats["block.1.capacity"], 67108864);
  assert.equal(stats["block.1.physical"], 67112960);
});

Deno.test("blockStatsFields() of QEMU's figures emits allocation 0 before any write", async () => {
  const stats = await statsOf(
    0,
    { target: "vda", nodeName: VDA.formatNode, path: PATHS.vda },
    repliesBeforeWrites(),
    FILES_BEFORE_WRITES,
  );
  assert.equal(stats["block.0.allocation"], 0);
  assert.equal(stats["block.0.capacity"], GiB);
  assert.equal(stats["block.0.physical"], 4096);
});

Deno.test("blockStatsFields() of QEMU's figures maps the device's counters in libvirt's key order", async () => {
  const replies = repliesAfterWrites();
  (replies.blockstats as unknown[])[0] = blockstatsEntry(VDA, {
    fileHighestOffsetBytes: 106954752,
    counters: {
      "rd_operations": 11,
      "rd_bytes": 12,
      "rd_total_time_ns": 13,
      "wr_operations": 21,
      "wr_bytes": 22,
      "wr_total_time_ns": 23,
      "flush_operations": 31,
      "flush_total_time_ns": 32,
    },
  });
  const fields = await blockStatsFields(0, {
    state: "running",
    figures: qmpBlockFigures(replies, { target: "vda", nodeName: VDA.formatNode }),
    readStorage: fakeStorage(FILES_AFTER_WRITES),
  });
  assert.deepEqual(fields, [
    { key: "block.0.rd.reqs", value: 11 },
    { key: "block.0.rd.bytes", value: 12 },
    { key: "block.0.rd.times", value: 13 },
    { key: "block.0.wr.reqs", value: 21 },
    { key: "block.0.wr.bytes", value: 22 },
    { key: "block.0.wr.times", value: 23 },
    { key: "block.0.fl.reqs", value: 31 },
    { key: "block.0.fl.times", value: 32 },
    { key: "block.0.allocation", value: 106954752 },
    { key: "block.0.capacity", value: GiB },
    { key: "block.0.physical", value: 5251072 },
  ]);
});

Deno.test("blockStatsFields() of QEMU's figures re-reads physical from storage when actual-size is 0", async () => {
  const storage = fakeStorage({ "/dev/loop0": { sizeBytes: 64 * MiB } }, "block");
  const fields = await blockStatsFields(3, {
    state: "running",
    figures: qmpBlockFigures(qcow2OnBlockDevice(1376256), {
      target: "vdd",
      nodeName: VDC.formatNode,
    }),
    readStorage: storage,
  });
  const stats = Object.fromEntries(fields.map(({ key, value }) => [key, value]));
  assert.equal(stats["block.3.allocation"], 1376256);
  assert.equal(stats["block.3.capacity"], 32 * MiB);
  assert.equal(stats["block.3.physical"], 64 * MiB);
  assert.deepEqual(storage.reads, ["/dev/loop0"]);
});

Deno.test("blockStatsFields() of QEMU's figures leaves physical out when its re-read fails", async () => {
  const fields = await blockStatsFields(3, {
    state: "running",
    figures: qmpBlockFigures(qcow2OnBlockDevice(1376256), {
      target: "vdd",
      nodeName: VDC.formatNode,
    }),
    readStorage: fakeStorage({}),
  });
  assert.equal(fields.some(({ key }) => key === "block.3.physical"), false);
  assert.equal(fields.some(({ key }) => key === "block.3.allocation"), true);
});

Deno.test("blockStatsFields() of QEMU's figures emits nothing and reads nothing for a disk QEMU has no stats for", async () => {
  const storage = fakeStorage(FILES_AFTER_WRITES);
  const fields = await blockStatsFields(5, {
    state: "running",
    figures: qmpBlockFigures(repliesAfterWrites(), {
      target: "vdz",
      qdevId: "virtio-disk9",
      path: PATHS.vda,
    }),
    readStorage: storage,
  });
  assert.deepEqual(fields, []);
  assert.deepEqual(storage.reads, []);
});

Deno.test("blockStatsFields() of QEMU's figures emits nothing for a device without a medium", async () => {
  const cdrom = {
    "device": "",
    "qdev": "/machine/peripheral/sata0-0-0",
    "stats": {},
    "io-status": "ok",
  };
  const fields = await blockStatsFields(0, {
    state: "running",
    figures: qmpBlockFigures({ blockstats: [cdrom], namedNodes: [] }, {
      target: "sda",
      qdevId: "sata0-0-0",
    }),
    readStorage: fakeStorage({}),
  });
  assert.deepEqual(fields, []);
});
