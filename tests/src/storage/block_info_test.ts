import assert from "node:assert/strict";
import {
  type BlockInfo,
  blockInfoInactive,
  blockInfoRunning,
  blockStatsFields,
  type BlockStorageAccess,
} from "../../../src/storage/block_info.ts";
import { type Qcow2Header, Qcow2HeaderError } from "../../../src/storage/qcow2_header.ts";
import type { StorageInfo, StorageReader } from "../../../src/storage/storage_info.ts";
import { ErrorCode, isVirtError, VirtError } from "../../../src/model/errors.ts";
import { type BlockFigures, unreportedDisk } from "../../../src/storage/block_figures.ts";
import type { BlockQmpReplies, RunningDisk } from "../../../drivers/qemu/block_node_facts.ts";
import { qmpBlockFigures } from "../../../drivers/qemu/qmp_block_figures.ts";
import { missing, testIf } from "../../support/environment.ts";
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
} from "../../drivers/qemu/_block_qmp_fixtures.ts";
import {
  loopDeviceSkipReason,
  qemuImgInfo,
  qemuIoWrite,
  run,
  withLoopDevice,
  withTempDir,
} from "./_block_images.ts";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** A storage reader over a table of files, recording which paths were read. */
function fakeStorage(
  files: Record<string, { sizeBytes: number; allocatedBytes?: number }>,
  kind: "file" | "block" = "file",
): StorageReader & { reads: string[] } {
  const reads: string[] = [];
  const reader = (path: string): Promise<StorageInfo> => {
    reads.push(path);
    const file = files[path];
    if (file === undefined) {
      return Promise.reject(
        new VirtError(
          ErrorCode.SYSTEM_ERROR,
          `cannot stat file '${path}': No such file or directory`,
        ),
      );
    }
    return Promise.resolve(
      kind === "file"
        ? { kind, path, sizeBytes: file.sizeBytes, allocatedBytes: file.allocatedBytes ?? 0 }
        : { kind, path, sizeBytes: file.sizeBytes },
    );
  };
  return Object.assign(reader, { reads });
}

function header(virtualSizeBytes: number): Qcow2Header {
  return {
    version: 3,
    clusterBits: 16,
    virtualSizeBytes,
    hasBackingFile: false,
    encrypted: false,
    headerBytes: 104,
  };
}

function access(
  storage: StorageInfo,
  virtualSizeBytes?: number,
): BlockStorageAccess & { headerReads: number } {
  const result = {
    headerReads: 0,
    readStorage: (path: string) => Promise.resolve({ ...storage, path }),
    readQcow2Header: (path: string) => {
      result.headerReads++;
      return virtualSizeBytes === undefined
        ? Promise.reject(new Qcow2HeaderError(path, "bad magic 0x00000000"))
        : Promise.resolve(header(virtualSizeBytes));
    },
  };
  return result;
}

function info(capacityBytes: number, allocationBytes: number, physicalBytes: number): BlockInfo {
  return { capacityBytes, allocationBytes, physicalBytes };
}

// ---------------------------------------------------------------------------------------------
// Inactive rules

Deno.test("blockInfoInactive() gives a raw file st_size / st_blocks × 512 / st_size", async () => {
  const file: StorageInfo = {
    kind: "file",
    path: "",
    sizeBytes: 1073741824,
    allocatedBytes: 5251072,
  };
  const fake = access(file);
  assert.deepEqual(
    await blockInfoInactive({ path: PATHS.vda, format: "raw" }, fake),
    info(1073741824, 5251072, 1073741824),
  );
  assert.equal(fake.headerReads, 0, "a raw disk's header is never read");
});

Deno.test("blockInfoInactive() gives a qcow2 file its header's virtual size as capacity", async () => {
  const file: StorageInfo = { kind: "file", path: "", sizeBytes: 6684672, allocatedBytes: 6627328 };
  assert.deepEqual(
    await blockInfoInactive({ path: PATHS.vdc, format: "qcow2" }, access(file, GiB)),
    info(GiB, 6627328, 6684672),
  );
});

Deno.test("blockInfoInactive() gives a raw block device its size three times", async () => {
  const device: StorageInfo = { kind: "block", path: "", sizeBytes: 64 * MiB };
  assert.deepEqual(
    await blockInfoInactive({ path: "/dev/sdb", format: "raw" }, access(device)),
    info(64 * MiB, 64 * MiB, 64 * MiB),
  );
});

Deno.test("blockInfoInactive() gives qcow2 on a block device allocation 0", async () => {
  const device: StorageInfo = { kind: "block", path: "", sizeBytes: 64 * MiB };
  assert.deepEqual(
    await blockInfoInactive({ path: "/dev/sdb", format: "qcow2" }, access(device, 32 * MiB)),
    info(32 * MiB, 0, 64 * MiB),
  );
});

Deno.test("blockInfoInactive() refuses an unsupported format before touching storage", async () => {
  let reads = 0;
  const counting: BlockStorageAccess = {
    readStorage: () => {
      reads++;
      return Promise.reject(new Error("must not be called"));
    },
    readQcow2Header: () => Promise.reject(new Error("must not be called")),
  };
  await assert.rejects(
    blockInfoInactive({ path: "/images/a.vmdk", format: "vmdk" }, counting),
    (error: unknown) =>
      isVirtError(error, ErrorCode.CONFIG_UNSUPPORTED) &&
      error.message === "unsupported disk format 'vmdk' for block info of '/images/a.vmdk'",
  );
  assert.equal(reads, 0);
});

Deno.test("blockInfoInactive() passes a corrupt qcow2 header's error through", async () => {
  const file: StorageInfo = { kind: "file", path: "", sizeBytes: 4096, allocatedBytes: 4096 };
  await assert.rejects(
    blockInfoInactive({ path: "/images/bad.qcow2", format: "qcow2" }, access(file)),
    Qcow2HeaderError,
  );
});

// ---------------------------------------------------------------------------------------------
// Running rules on figures alone (what every driver reports)

function rawFigures(highestOffsetBytes: number | undefined, allocatedBytes: number): BlockFigures {
  return {
    target: "vda",
    path: PATHS.vda,
    reported: true,
    counters: {},
    ...(highestOffsetBytes === undefined ? {} : { highestOffsetBytes }),
    image: { format: "raw", containerKind: "file", capacityBytes: 1 * GiB, allocatedBytes },
  };
}

Deno.test("blockInfoRunning() takes the highest offset as a raw file's allocation", async () => {
  const storage = fakeStorage(FILES_AFTER_WRITES);
  const result = await blockInfoRunning(rawFigures(106954752, 5251072), storage);
  assert.deepEqual(result, info(1 * GiB, 106954752, 5251072));
  assert.deepEqual(storage.reads, []);
});

Deno.test("blockInfoRunning() falls back to the allocated bytes when nothing was written", async () => {
  const storage = fakeStorage(FILES_AFTER_WRITES);
  const result = await blockInfoRunning(rawFigures(undefined, 5251072), storage);
  assert.deepEqual(result, info(1 * GiB, 5251072, 1 * GiB), "physical re-read: st_size");
  assert.deepEqual(storage.reads, [PATHS.vda]);
});

Deno.test("blockInfoRunning() takes a qcow2 file's allocated bytes, not its highest offset", async () => {
  const figures: BlockFigures = {
    ...rawFigures(6684672, 6627328),
    image: {
      format: "qcow2",
      containerKind: "file",
      capacityBytes: 1 * GiB,
      allocatedBytes: 6627328,
    },
  };
  const storage = fakeStorage({ [PATHS.vda]: { sizeBytes: 6684672, allocatedBytes: 6627328 } });
  assert.deepEqual(await blockInfoRunning(figures, storage), info(1 * GiB, 6627328, 6684672));
});

Deno.test("blockInfoRunning() refuses figures the driver could not read, naming where", async () => {
  const figures: BlockFigures = {
    ...unreportedDisk("vda"),
    fault: { message: "unexpected reply: stats is not an object", where: "stats[0]" },
  };
  await assert.rejects(
    blockInfoRunning(figures, fakeStorage({})),
    (error: unknown) => isVirtError(error, ErrorCode.INTERNAL_ERROR) && error.where === "stats[0]",
  );
});

Deno.test("blockInfoRunning() refuses an image without a known container", async () => {
  const figures: BlockFigures = { ...rawFigures(1, 1), image: { format: "raw", capacityBytes: 1 } };
  await assert.rejects(
    blockInfoRunning(figures, fakeStorage({})),
    (error: unknown) =>
      isVirtError(error, ErrorCode.INTERNAL_ERROR) &&
      error.message === "the driver did not describe the image of disk 'vda'",
  );
});

Deno.test("blockStatsFields() emits nothing for an unreported disk", async () => {
  const storage = fakeStorage(FILES_AFTER_WRITES);
  const fields = await blockStatsFields(0, {
    state: "running",
    figures: unreportedDisk("vda", PATHS.vda),
    readStorage: storage,
  });
  assert.deepEqual(fields, []);
  assert.deepEqual(storage.reads, []);
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

Deno.test("runningInfo() reports reference §4's sparse raw vda", async () => {
  const storage = fakeStorage(FILES_AFTER_WRITES);
  const result = await runningInfo(
    repliesAfterWrites(),
    { target: "vda", nodeName: VDA.formatNode, path: PATHS.vda },
    storage,
  );
  assert.deepEqual(result, info(1073741824, 106954752, 5251072));
  assert.deepEqual(storage.reads, [], "allocation differs from actual-size: no storage read");
});

Deno.test("runningInfo() reports reference §4's fully allocated raw vdb", async () => {
  const storage = fakeStorage(FILES_AFTER_WRITES);
  const result = await runningInfo(
    repliesAfterWrites(),
    { target: "vdb", nodeName: VDB.formatNode, path: PATHS.vdb },
    storage,
  );
  assert.deepEqual(result, info(67108864, 9437184, 67112960));
  assert.deepEqual(storage.reads, []);
});

Deno.test("runningInfo() reports reference §4's qcow2 vdc with physical re-read", async () => {
  const storage = fakeStorage(FILES_AFTER_WRITES);
  const result = await runningInfo(
    repliesAfterWrites(),
    { target: "vdc", nodeName: VDC.formatNode, path: PATHS.vdc },
    storage,
  );
  assert.deepEqual(result, info(1073741824, 6627328, 6684672));
  assert.deepEqual(storage.reads, [PATHS.vdc], "allocation equals actual-size: st_size re-read");
});

Deno.test("runningInfo() before any write reports allocation = actual-size, physical = st_size", async () => {
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

Deno.test("runningInfo() keeps actual-size as physical when the re-read fails", async () => {
  const result = await runningInfo(
    repliesAfterWrites(),
    { target: "vdc", nodeName: VDC.formatNode, path: "/images/gone.qcow2" },
    fakeStorage({}),
  );
  assert.deepEqual(result, info(GiB, 6627328, 6627328));
});

Deno.test("runningInfo() lets a reader's programming error surface", async () => {
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

Deno.test("runningInfo() re-reads the file node's filename when no path is given", async () => {
  const storage = fakeStorage(FILES_AFTER_WRITES);
  const result = await runningInfo(repliesAfterWrites(), {
    target: "vdc",
    nodeName: VDC.formatNode,
  }, storage);
  assert.deepEqual(result, info(GiB, 6627328, 6684672));
  assert.deepEqual(storage.reads, [PATHS.vdc]);
});

Deno.test("runningInfo() finds a disk by its qdev id", async () => {
  const result = await runningInfo(
    repliesAfterWrites(),
    { target: "vda", qdevId: VDA.alias, path: PATHS.vda },
    fakeStorage(FILES_AFTER_WRITES),
  );
  assert.deepEqual(result, info(GiB, 106954752, 5251072));
});

Deno.test("runningInfo() falls back to the qdev id when the node name is unknown", async () => {
  const result = await runningInfo(
    repliesAfterWrites(),
    { target: "vdb", nodeName: "renamed", qdevId: VDB.alias, path: PATHS.vdb },
    fakeStorage(FILES_AFTER_WRITES),
  );
  assert.deepEqual(result, info(64 * MiB, 9437184, 67112960));
});

Deno.test("runningInfo() reads per-node replies of query-blockstats with query-nodes", async () => {
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

Deno.test("runningInfo() uses a root protocol node's own highest offset", async () => {
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

Deno.test("runningInfo() gives qcow2 on a block device its highest offset and device size", async () => {
  const storage = fakeStorage({ "/dev/loop0": { sizeBytes: 64 * MiB } }, "block");
  const result = await runningInfo(qcow2OnBlockDevice(1376256), {
    target: "vdc",
    nodeName: VDC.formatNode,
  }, storage);
  assert.deepEqual(result, info(32 * MiB, 1376256, 64 * MiB));
  assert.deepEqual(storage.reads, ["/dev/loop0"], "actual-size 0: the device's size is re-read");
});

Deno.test("runningInfo() gives an unwritten qcow2 block device allocation 0", async () => {
  const storage = fakeStorage({ "/dev/loop0": { sizeBytes: 64 * MiB } }, "block");
  const result = await runningInfo(qcow2OnBlockDevice(0), {
    target: "vdc",
    nodeName: VDC.formatNode,
  }, storage);
  assert.deepEqual(result, info(32 * MiB, 0, 64 * MiB));
});

Deno.test("runningInfo() refuses a disk QEMU has no stats for", async () => {
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

Deno.test("runningInfo() refuses a disk whose node QEMU does not list", async () => {
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

Deno.test("runningInfo() refuses a format node without a virtual size", async () => {
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

Deno.test("runningInfo() refuses a malformed highest offset naming where it is", async () => {
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

Deno.test("runningInfo() refuses a reply that is not a list", async () => {
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

Deno.test("runningInfo() requires a node name or a qdev id", async () => {
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

Deno.test("blockStatsFields() reports reference §5's vda: highest offset and actual-size", async () => {
  const stats = await statsOf(0, { target: "vda", nodeName: VDA.formatNode, path: PATHS.vda });
  assert.equal(stats["block.0.allocation"], 106954752);
  assert.equal(stats["block.0.capacity"], 1073741824);
  assert.equal(stats["block.0.physical"], 5251072);
});

Deno.test("blockStatsFields() reports reference §5's vdc: the file node's highest offset", async () => {
  const stats = await statsOf(2, { target: "vdc", nodeName: VDC.formatNode, path: PATHS.vdc });
  assert.equal(stats["block.2.allocation"], 6684672, "not the format node's 735051776");
  assert.equal(stats["block.2.capacity"], 1073741824);
  assert.equal(stats["block.2.physical"], 6627328);
});

Deno.test("blockStatsFields() reports vdb with the figures of its file", async () => {
  const stats = await statsOf(1, { target: "vdb", nodeName: VDB.formatNode, path: PATHS.vdb });
  assert.equal(stats["block.1.allocation"], 9437184);
  assert.equal(stats["block.1.capacity"], 67108864);
  assert.equal(stats["block.1.physical"], 67112960);
});

Deno.test("blockStatsFields() emits allocation 0 before any write", async () => {
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

Deno.test("blockStatsFields() maps the device's counters in libvirt's key order", async () => {
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

Deno.test("blockStatsFields() re-reads physical from storage when actual-size is 0", async () => {
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

Deno.test("blockStatsFields() leaves physical out when its re-read fails", async () => {
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

Deno.test("blockStatsFields() emits nothing and reads nothing for a disk QEMU has no stats for", async () => {
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

Deno.test("blockStatsFields() emits nothing for a device without a medium", async () => {
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

Deno.test("blockStatsFields() reports an inactive disk's non-zero figures only", async () => {
  const fields = await blockStatsFields(1, {
    state: "inactive",
    info: info(32 * MiB, 0, 64 * MiB),
  });
  assert.deepEqual(fields, [
    { key: "block.1.capacity", value: 32 * MiB },
    { key: "block.1.physical", value: 64 * MiB },
  ]);
});

Deno.test("blockStatsFields() refuses a negative index", async () => {
  await assert.rejects(blockStatsFields(-1, { state: "inactive", info: info(1, 1, 1) }), TypeError);
});

// ---------------------------------------------------------------------------------------------
// Real images made by qemu-img / qemu-io

const needsQemuTools = missing("qemu-img", "qemu-io");

async function statOf(path: string): Promise<{ sizeBytes: number; allocatedBytes: number }> {
  const stat = await Deno.stat(path);
  return { sizeBytes: stat.size, allocatedBytes: (stat.blocks ?? Number.NaN) * 512 };
}

testIf(
  "blockInfoInactive() reads a sparse raw file written by qemu-io",
  needsQemuTools,
  async () => {
    await withTempDir(async (dir) => {
      const path = `${dir}/vda.raw`;
      await run("qemu-img", ["create", "-q", "-f", "raw", path, "1G"]);
      await qemuIoWrite(path, "raw", 100 * MiB, 2 * MiB);
      const stat = await statOf(path);
      const image = await qemuImgInfo(path, "raw");
      const result = await blockInfoInactive({ path, format: "raw" });
      assert.deepEqual(result, info(stat.sizeBytes, stat.allocatedBytes, stat.sizeBytes));
      assert.equal(result.capacityBytes, GiB);
      assert.equal(result.capacityBytes, image.virtualSizeBytes);
      assert.equal(result.allocationBytes, image.actualSizeBytes);
      assert.ok(
        result.allocationBytes >= 2 * MiB && result.allocationBytes < 8 * MiB,
        `${result.allocationBytes}`,
      );
    });
  },
);

testIf("blockInfoInactive() reads a fully allocated raw file", needsQemuTools, async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/vdb.raw`;
    await run("qemu-img", ["create", "-q", "-f", "raw", "-o", "preallocation=full", path, "64M"]);
    const stat = await statOf(path);
    const result = await blockInfoInactive({ path, format: "raw" });
    assert.deepEqual(result, info(64 * MiB, stat.allocatedBytes, 64 * MiB));
    assert.ok(result.allocationBytes >= 64 * MiB, `${result.allocationBytes}`);
    assert.equal(result.allocationBytes, (await qemuImgInfo(path, "raw")).actualSizeBytes);
  });
});

testIf("blockInfoInactive() reads a qcow2 image written by qemu-io", needsQemuTools, async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/vdc.qcow2`;
    await run("qemu-img", ["create", "-q", "-f", "qcow2", path, "1G"]);
    await qemuIoWrite(path, "qcow2", 700 * MiB, MiB);
    const stat = await statOf(path);
    const image = await qemuImgInfo(path, "qcow2");
    const result = await blockInfoInactive({ path, format: "qcow2" });
    assert.deepEqual(result, info(GiB, stat.allocatedBytes, stat.sizeBytes));
    assert.equal(result.capacityBytes, image.virtualSizeBytes);
    assert.equal(result.allocationBytes, image.actualSizeBytes);
    assert.ok(
      result.physicalBytes > MiB && result.physicalBytes < 4 * MiB,
      `${result.physicalBytes}`,
    );
  });
});

testIf(
  "blockInfoInactive() refuses a raw file declared qcow2, naming it",
  needsQemuTools,
  async () => {
    await withTempDir(async (dir) => {
      const path = `${dir}/plain.raw`;
      await run("qemu-img", ["create", "-q", "-f", "raw", path, "1M"]);
      await assert.rejects(
        blockInfoInactive({ path, format: "qcow2" }),
        (error: unknown) =>
          error instanceof Qcow2HeaderError && error.code === ErrorCode.OPERATION_FAILED &&
          error.message === `invalid qcow2 header in '${path}': bad magic 0x00000000`,
      );
    });
  },
);

testIf(
  "blockInfoInactive() refuses a qcow2 image whose header was cut short",
  needsQemuTools,
  async () => {
    await withTempDir(async (dir) => {
      const path = `${dir}/cut.qcow2`;
      await run("qemu-img", ["create", "-q", "-f", "qcow2", path, "1G"]);
      await Deno.truncate(path, 50);
      await assert.rejects(
        blockInfoInactive({ path, format: "qcow2" }),
        (error: unknown) =>
          error instanceof Qcow2HeaderError && error.message.includes("truncated: 50 bytes"),
      );
    });
  },
);

const needsLoop = needsQemuTools ?? loopDeviceSkipReason();

testIf("blockInfoInactive() reads raw and qcow2 on a loop device", needsLoop, async () => {
  await withTempDir(async (dir) => {
    const backing = `${dir}/backing.img`;
    await run("qemu-img", ["create", "-q", "-f", "raw", backing, "64M"]);
    await withLoopDevice(backing, async (device) => {
      assert.deepEqual(
        await blockInfoInactive({ path: device, format: "raw" }),
        info(64 * MiB, 64 * MiB, 64 * MiB),
      );
      await run("qemu-img", ["create", "-q", "-f", "qcow2", device, "32M"]);
      assert.deepEqual(
        await blockInfoInactive({ path: device, format: "qcow2" }),
        info(32 * MiB, 0, 64 * MiB),
      );
    });
  });
});
