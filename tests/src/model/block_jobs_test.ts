import assert from "node:assert/strict";
import {
  bandwidthBytes,
  blockJobDiskIndex,
  type ChainLayer,
  commitResult,
  copyResult,
  lookupChainLayer,
  planCommit,
  progressLine,
  pullResult,
  reportedProgress,
  withBlockJobApplied,
  withConfigFollowing,
} from "../../../src/model/block_jobs.ts";
import { emptyDevices } from "../../../src/model/domain.ts";
import { ErrorCode, isVirtError } from "../../../src/model/errors.ts";

const layer = (path: string, index: number, format = "qcow2"): ChainLayer => ({
  type: "file",
  path,
  format,
  index,
});
/** vda: top (1) over middle (2) over base (3, raw). */
const CHAIN = [layer("/i/top.qcow2", 1), layer("/i/mid.qcow2", 2), layer("/i/base.raw", 3, "raw")];

function refused(call: () => unknown, code: number, message: string): void {
  assert.throws(call, (error) => {
    assert.ok(isVirtError(error, code), String(error));
    assert.equal((error as Error).message, message);
    return true;
  });
}

Deno.test("lookupChainLayer finds an image by path, by target[index], and the bottom without a name", () => {
  assert.equal(lookupChainLayer(CHAIN, "/i/mid.qcow2", "vda", undefined), 1);
  assert.equal(lookupChainLayer(CHAIN, "vda[3]", "vda", undefined), 2);
  assert.equal(lookupChainLayer(CHAIN, undefined, "vda", 0), 2);
});

Deno.test("lookupChainLayer refuses as libvirt: another target, a missing index, an image not below the start", () => {
  refused(
    () => lookupChainLayer(CHAIN, "vdb[2]", "vda", undefined),
    ErrorCode.INVALID_ARG,
    "requested target 'vdb' does not match target 'vda'",
  );
  refused(
    () => lookupChainLayer(CHAIN, "vda[9]", "vda", undefined),
    ErrorCode.INVALID_ARG,
    "could not find backing store index '9' in chain for 'vda'",
  );
  refused(
    () => lookupChainLayer(CHAIN, "/i/top.qcow2", "vda", 1),
    ErrorCode.INVALID_ARG,
    "could not find image '/i/top.qcow2' beneath '/i/mid.qcow2' in chain for 'vda'",
  );
  refused(
    () => lookupChainLayer([CHAIN[0]], undefined, "vda", 0),
    ErrorCode.INVALID_ARG,
    "could not find base image in chain for 'vda'",
  );
});

Deno.test("planCommit: the active layer needs --active; --active needs the active layer", () => {
  assert.deepEqual(planCommit(CHAIN, "vda", { flags: 4 }), {
    top: 0,
    base: 2,
    type: "active_commit",
  });
  assert.deepEqual(planCommit(CHAIN, "vda", { top: "vda[2]", flags: 0 }), {
    top: 1,
    base: 2,
    type: "commit",
  });
  refused(
    () => planCommit(CHAIN, "vda", { flags: 0 }),
    ErrorCode.INVALID_ARG,
    "commit of 'vda' active layer requires active flag",
  );
  refused(
    () => planCommit(CHAIN, "vda", { top: "/i/mid.qcow2", flags: 4 }),
    ErrorCode.INVALID_ARG,
    "active commit requested but '/i/mid.qcow2' is not active",
  );
});

Deno.test("planCommit: --shallow takes the image right below the top and refuses a deeper base", () => {
  assert.deepEqual(planCommit(CHAIN, "vda", { flags: 4 | 1 }).base, 1);
  refused(
    () => planCommit(CHAIN, "vda", { base: "/i/base.raw", flags: 4 | 1 }),
    ErrorCode.INVALID_ARG,
    "base '/i/base.raw' is not immediately below '/i/top.qcow2' in chain for '/i/top.qcow2'",
  );
});

Deno.test("commitResult, pullResult and copyResult leave the chains libvirt's jobs leave", () => {
  assert.deepEqual(commitResult(CHAIN, { top: 0, base: 2, type: "active_commit" }), {
    top: CHAIN[2],
    backing: [],
  });
  assert.deepEqual(commitResult(CHAIN, { top: 1, base: 2, type: "commit" }), {
    top: CHAIN[0],
    backing: [CHAIN[2]],
  });
  assert.deepEqual(pullResult(CHAIN, undefined), { top: CHAIN[0], backing: [] });
  assert.deepEqual(pullResult(CHAIN, 2), { top: CHAIN[0], backing: [CHAIN[2]] });
  const copy = layer("/i/copy.qcow2", 4);
  assert.deepEqual(copyResult(CHAIN, copy, true), { top: copy, backing: CHAIN.slice(1) });
  assert.deepEqual(copyResult(CHAIN, copy, false), { top: copy, backing: [] });
});

Deno.test("withBlockJobApplied moves the disk's source and its live chain to the job's result", () => {
  const devices = emptyDevices();
  devices.disks.push({
    type: "file",
    driver: { name: "qemu", type: "qcow2" },
    source: { file: "/i/top.qcow2", hosts: [] },
    target: { dev: "vda", bus: "virtio" },
  });
  const live = {
    type: "qemu",
    name: "d",
    memoryKiB: 1024,
    vcpus: 1,
    os: { type: "hvm", boot: [] },
    devices,
  } as unknown as Parameters<typeof withBlockJobApplied>[0];
  const runtime = {
    pid: 1,
    live: { disks: [{ index: 0, sourceIndex: 1, backing: CHAIN.slice(1) }] },
  };
  const applied = withBlockJobApplied(live, runtime, "vda", { top: CHAIN[2], backing: [] });
  assert.equal(applied.live.devices.disks[0].source?.file, "/i/base.raw");
  assert.equal(applied.live.devices.disks[0].driver?.type, "raw");
  assert.deepEqual(applied.runtime?.live, { disks: [{ index: 0, sourceIndex: 3, backing: [] }] });
  assert.equal(live.devices.disks[0].source?.file, "/i/top.qcow2", "the input is left as it was");
});

Deno.test("blockJobDiskIndex names a disk by target or source, else code 8 as libvirt", () => {
  const devices = emptyDevices();
  devices.disks.push({ source: { file: "/i/a.img", hosts: [] }, target: { dev: "vda" } });
  const definition = { devices } as unknown as Parameters<typeof blockJobDiskIndex>[0];
  assert.equal(blockJobDiskIndex(definition, "/i/a.img"), 0);
  refused(
    () => blockJobDiskIndex(definition, "vdz"),
    ErrorCode.INVALID_ARG,
    "disk 'vdz' not found in domain",
  );
});

Deno.test("bandwidthBytes: MiB/s unless bytes; an overflow is code 82", () => {
  assert.equal(bandwidthBytes(3n, false), 3n << 20n);
  assert.equal(bandwidthBytes(3n, true), 3n);
  refused(
    () => bandwidthBytes(1n << 43n, false),
    ErrorCode.OVERFLOW,
    "bandwidth must be less than 8796093022207",
  );
});

Deno.test("reportedProgress corrects QEMU's figures as libvirt does", () => {
  assert.deepEqual(reportedProgress({ cur: 0n, end: 0n }, false), { cur: 0n, end: 1n });
  assert.deepEqual(reportedProgress({ cur: 0n, end: 0n }, true), { cur: 1n, end: 1n });
  assert.deepEqual(reportedProgress({ cur: 5n, end: 5n }, false), { cur: 4n, end: 5n });
  assert.deepEqual(reportedProgress({ cur: 5n, end: 5n }, true), { cur: 5n, end: 5n });
});

Deno.test("progressLine prints virsh's percentage, never 100 before the end", () => {
  assert.equal(progressLine("Block Commit", 50n, 100n), "Block Commit: [ 50 %]");
  assert.equal(progressLine("Block Copy", 1n, 100000n), "Block Copy: [ 99 %]");
  assert.equal(progressLine("Block Pull", 0n, 0n), "Block Pull: [100 %]");
});

Deno.test("withConfigFollowing moves the persistent disk with a pivot, only where it named the job's image", () => {
  const devices = emptyDevices();
  devices.disks.push({
    type: "file",
    driver: { name: "qemu", type: "qcow2" },
    source: { file: "/i/top.qcow2", hosts: [] },
    target: { dev: "vda", bus: "virtio" },
  });
  const definition = { devices } as unknown as Parameters<typeof withConfigFollowing>[0];
  const result = { top: layer("/i/copy.raw", 4, "raw"), backing: [] };
  const moved = withConfigFollowing(definition, "vda", "/i/top.qcow2", "copy", result);
  assert.equal(moved.devices.disks[0].source?.file, "/i/copy.raw");
  assert.equal(moved.devices.disks[0].driver?.type, "raw");
  const pulled = withConfigFollowing(definition, "vda", "/i/top.qcow2", "pull", result);
  assert.equal(pulled.devices.disks[0].source?.file, "/i/top.qcow2", "a pull keeps the source");
  const other = withConfigFollowing(definition, "vda", "/i/else.qcow2", "copy", result);
  assert.equal(other, definition, "a disk that names another image is left alone");
});
