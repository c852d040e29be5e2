import assert from "node:assert/strict";
import {
  readStorageInfo,
  storageSystemError,
  withStorageDeadline,
} from "../../../src/storage/storage_info.ts";
import { ErrorCode, isVirtError } from "../../../src/model/errors.ts";
import { missing, testIf } from "../../support/environment.ts";
import { loopDeviceSkipReason, run, withLoopDevice, withTempDir } from "./_block_images.ts";

const MiB = 1024 * 1024;

Deno.test("readStorageInfo() reads a sparse file's st_size and st_blocks × 512", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/sparse.raw`;
    const file = await Deno.create(path);
    try {
      await file.truncate(64 * MiB);
      await file.seek(8 * MiB, Deno.SeekMode.Start);
      await file.write(new Uint8Array(MiB).fill(0xab));
      await file.syncData();
    } finally {
      file.close();
    }
    const stat = await Deno.stat(path);
    const info = await readStorageInfo(path);
    assert.deepEqual(info, {
      kind: "file",
      path,
      sizeBytes: 64 * MiB,
      allocatedBytes: stat.blocks! * 512,
    });
    assert.ok(info.kind === "file" && info.allocatedBytes >= MiB, "the written MiB is allocated");
    assert.ok(info.kind === "file" && info.allocatedBytes < 64 * MiB, "the hole is not");
  });
});

Deno.test("readStorageInfo() follows a symbolic link to its file", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeFile(`${dir}/target`, new Uint8Array(1000));
    await Deno.symlink(`${dir}/target`, `${dir}/link`);
    const info = await readStorageInfo(`${dir}/link`);
    assert.equal(info.kind, "file");
    assert.equal(info.sizeBytes, 1000);
  });
});

Deno.test("readStorageInfo() reports a missing file like libvirt", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/absent.raw`;
    await assert.rejects(
      readStorageInfo(path),
      (error: unknown) =>
        isVirtError(error, ErrorCode.SYSTEM_ERROR) &&
        error.where === path &&
        error.message === `cannot stat file '${path}': No such file or directory`,
    );
  });
});

Deno.test("readStorageInfo() refuses a directory", async () => {
  await withTempDir(async (dir) => {
    await assert.rejects(
      readStorageInfo(dir),
      (error: unknown) =>
        isVirtError(error, ErrorCode.OPERATION_UNSUPPORTED) &&
        error.message === `storage '${dir}' is a directory, not a regular file or block device`,
    );
  });
});

testIf("readStorageInfo() refuses a FIFO without opening it", missing("mkfifo"), async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/fifo`;
    await run("mkfifo", [path]);
    // Opening a FIFO for reading would block until a writer came: refusing must not open it.
    await assert.rejects(
      readStorageInfo(path),
      (error: unknown) =>
        isVirtError(error, ErrorCode.OPERATION_UNSUPPORTED) &&
        error.message === `storage '${path}' is a FIFO, not a regular file or block device`,
    );
  });
});

testIf("readStorageInfo() refuses a character device", missing("/dev/null"), async () => {
  await assert.rejects(
    readStorageInfo("/dev/null"),
    (error: unknown) =>
      isVirtError(error, ErrorCode.OPERATION_UNSUPPORTED) &&
      error.message.endsWith("is a character device, not a regular file or block device"),
  );
});

testIf(
  "readStorageInfo() sizes a loop device by seeking to its end",
  loopDeviceSkipReason(),
  async () => {
    await withTempDir(async (dir) => {
      const backing = `${dir}/backing.img`;
      await Deno.writeFile(backing, new Uint8Array(0));
      await Deno.truncate(backing, 48 * MiB);
      await withLoopDevice(backing, async (device) => {
        assert.deepEqual(await readStorageInfo(device), {
          kind: "block",
          path: device,
          sizeBytes: 48 * MiB,
        });
      });
    });
  },
);

Deno.test("withStorageDeadline() answers a read that outlives its deadline with a timeout", async () => {
  let finish = () => {};
  const hung = new Promise<void>((resolve) => finish = resolve);
  try {
    await assert.rejects(
      withStorageDeadline("/nfs/hung.raw", hung, { timeoutMs: 20 }),
      (error: unknown) =>
        isVirtError(error, ErrorCode.OPERATION_TIMEOUT) &&
        error.where === "/nfs/hung.raw" &&
        error.message === "timed out after 20 ms reading storage '/nfs/hung.raw'",
    );
  } finally {
    finish();
  }
});

Deno.test("withStorageDeadline() answers an abort with OPERATION_ABORTED", async () => {
  let finish = () => {};
  const hung = new Promise<void>((resolve) => finish = resolve);
  const controller = new AbortController();
  const answer = withStorageDeadline("/nfs/hung.raw", hung, { signal: controller.signal });
  controller.abort();
  try {
    await assert.rejects(
      answer,
      (error: unknown) => isVirtError(error, ErrorCode.OPERATION_ABORTED),
    );
  } finally {
    finish();
  }
});

Deno.test("withStorageDeadline() passes the read's value and error through", async () => {
  assert.equal(await withStorageDeadline("/a", Promise.resolve(7)), 7);
  await assert.rejects(
    withStorageDeadline("/a", Promise.reject(new RangeError("Boom"))),
    RangeError,
  );
});

Deno.test("withStorageDeadline() refuses a negative deadline", () => {
  assert.throws(
    () => withStorageDeadline("/a", Promise.resolve(1), { timeoutMs: -1 }),
    (error: unknown) =>
      error instanceof TypeError &&
      error.message === "Cannot read storage: timeoutMs must be >= 0, received -1",
  );
});

Deno.test("storageSystemError() keeps the system's reason and drops Deno's suffix", () => {
  const cause = new Deno.errors.PermissionDenied("Permission denied (os error 13): open '/x'");
  const error = storageSystemError("cannot open file '/x'", "/x", cause);
  assert.equal(error.code, ErrorCode.SYSTEM_ERROR);
  assert.equal(error.message, "cannot open file '/x': Permission denied");
  assert.equal(error.cause, cause);
});
