import assert from "node:assert/strict";
import {
  blockInfoInactive,
  blockInfoRunning,
  blockStatsFields,
  type BlockStorageAccess,
} from "../../../src/storage/block_info.ts";
import { type Qcow2Header, Qcow2HeaderError } from "../../../src/storage/qcow2_header.ts";
import type { StorageInfo } from "../../../src/storage/storage_info.ts";
import { ErrorCode, isVirtError } from "../../../src/model/errors.ts";
import { type BlockFigures, unreportedDisk } from "../../../src/storage/block_figures.ts";
import { missing, testIf } from "../../support/environment.ts";
import { fakeStorage, GiB, info, MiB } from "./_fake_storage.ts";
import {
  loopDeviceSkipReason,
  qemuImgInfo,
  qemuIoWrite,
  run,
  withLoopDevice,
  withTempDir,
} from "./_block_images.ts";

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
    await blockInfoInactive({ path: PATH, format: "raw" }, fake),
    info(1073741824, 5251072, 1073741824),
  );
  assert.equal(fake.headerReads, 0, "a raw disk's header is never read");
});

Deno.test("blockInfoInactive() gives a qcow2 file its header's virtual size as capacity", async () => {
  const file: StorageInfo = { kind: "file", path: "", sizeBytes: 6684672, allocatedBytes: 6627328 };
  assert.deepEqual(
    await blockInfoInactive({ path: "/images/c.qcow2", format: "qcow2" }, access(file, GiB)),
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
// Running rules on figures alone (what every driver reports); QEMU's replies through the QEMU
// driver's figures are tested in tests/drivers/qemu/qmp_block_figures_test.ts

const PATH = "/images/a.raw";
/** The file after the guest's writes: 1 GiB, 5 MiB allocated. */
const FILES = { [PATH]: { sizeBytes: 1 * GiB, allocatedBytes: 5251072 } };

function rawFigures(highestOffsetBytes: number | undefined, allocatedBytes: number): BlockFigures {
  return {
    target: "vda",
    path: PATH,
    reported: true,
    counters: {},
    ...(highestOffsetBytes === undefined ? {} : { highestOffsetBytes }),
    image: { format: "raw", containerKind: "file", capacityBytes: 1 * GiB, allocatedBytes },
  };
}

Deno.test("blockInfoRunning() takes the highest offset as a raw file's allocation", async () => {
  const storage = fakeStorage(FILES);
  const result = await blockInfoRunning(rawFigures(106954752, 5251072), storage);
  assert.deepEqual(result, info(1 * GiB, 106954752, 5251072));
  assert.deepEqual(storage.reads, []);
});

Deno.test("blockInfoRunning() falls back to the allocated bytes when nothing was written", async () => {
  const storage = fakeStorage(FILES);
  const result = await blockInfoRunning(rawFigures(undefined, 5251072), storage);
  assert.deepEqual(result, info(1 * GiB, 5251072, 1 * GiB), "physical re-read: st_size");
  assert.deepEqual(storage.reads, [PATH]);
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
  const storage = fakeStorage({ [PATH]: { sizeBytes: 6684672, allocatedBytes: 6627328 } });
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
  const storage = fakeStorage(FILES);
  const fields = await blockStatsFields(0, {
    state: "running",
    figures: unreportedDisk("vda", PATH),
    readStorage: storage,
  });
  assert.deepEqual(fields, []);
  assert.deepEqual(storage.reads, []);
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
