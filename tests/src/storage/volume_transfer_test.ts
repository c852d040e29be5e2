/**
 * Volume transfers: zero detection, uploads at an offset (plain and sparse, bounded by a
 * length) and downloads of a range pulled chunk by chunk, the file's holes skipped unread.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ErrorCode, isVirtError } from "../../../src/model/errors.ts";
import {
  isZero,
  readVolumeRange,
  TRANSFER_CHUNK_BYTES,
  writeVolumeRange,
} from "../../../src/storage/volume_transfer.ts";
import { sparseBytes, sparseShapes, writeSparseFile } from "../../support/sparse_files.ts";
import { withTempDir } from "../../support/temp_dir.ts";

function streamOf(...chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
}

Deno.test("isZero finds a non-zero byte anywhere, aligned or not", () => {
  const bytes = new Uint8Array(1027);
  assert.equal(isZero(bytes), true);
  assert.equal(isZero(bytes.subarray(3)), true);
  bytes[1026] = 1;
  assert.equal(isZero(bytes), false);
  assert.equal(isZero(bytes.subarray(5)), false);
  bytes[1026] = 0;
  bytes[9] = 7;
  assert.equal(isZero(bytes), false);
});

Deno.test("an upload writes at its offset, a sparse one leaves zero blocks as holes", async () => {
  await withTempDir("evirt-transfer-", async (dir) => {
    const path = `${dir}/v.raw`;
    await Deno.writeFile(path, new Uint8Array(8192).fill(9));
    const data = new Uint8Array(1024).fill(1);
    assert.equal(
      await writeVolumeRange(path, streamOf(data), { offset: 1024, length: 0 }, false),
      1024,
    );
    const after = await Deno.readFile(path);
    assert.equal(after.length, 8192);
    assert.deepEqual([after[1023], after[1024], after[2047], after[2048]], [9, 1, 1, 9]);

    const zeros = new Uint8Array(4 << 20);
    const written = await writeVolumeRange(
      path,
      streamOf(data, zeros, data),
      { offset: 0, length: 0 },
      true,
    );
    assert.equal(written, 1024 + zeros.length + 1024);
    const info = await Deno.stat(path);
    assert.equal(info.size, written);
    assert.ok(info.blocks! * 512 < 1 << 20, `holes kept: ${info.blocks! * 512} bytes allocated`);
    const sparse = await Deno.readFile(path);
    assert.deepEqual([sparse[0], sparse[1024], sparse[written - 1]], [1, 0, 1]);
  });
});

Deno.test("an upload longer than its length writes what fits and fails; sparse takes no length", async () => {
  await withTempDir("evirt-transfer-", async (dir) => {
    const path = `${dir}/v.raw`;
    await Deno.writeFile(path, new Uint8Array(16));
    await assert.rejects(
      writeVolumeRange(path, streamOf(new Uint8Array(8).fill(5)), { offset: 0, length: 4 }, false),
      (error) => isVirtError(error, ErrorCode.SYSTEM_ERROR),
    );
    assert.deepEqual([...(await Deno.readFile(path)).subarray(0, 6)], [5, 5, 5, 5, 0, 0]);
    await assert.rejects(
      writeVolumeRange(path, streamOf(new Uint8Array(8)), { offset: 0, length: 4 }, true),
      (error) => isVirtError(error, ErrorCode.INVALID_ARG),
    );
  });
});

Deno.test("a download streams its range and calls done once at the end", async () => {
  await withTempDir("evirt-transfer-", async (dir) => {
    const path = `${dir}/v.raw`;
    const bytes = new Uint8Array(TRANSFER_CHUNK_BYTES * 2 + 10).map((_, index) => index % 251);
    await Deno.writeFile(path, bytes);
    let done = 0;
    const { stream, bytes: count } = await readVolumeRange(
      path,
      { offset: 5, length: TRANSFER_CHUNK_BYTES + 3 },
      () => done++,
    );
    assert.equal(count, TRANSFER_CHUNK_BYTES + 3);
    const chunks: Uint8Array[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    const got = new Uint8Array(count);
    let at = 0;
    for (const chunk of chunks) {
      got.set(chunk, at);
      at += chunk.length;
    }
    assert.deepEqual(got, bytes.subarray(5, 5 + count));
    assert.equal(done, 1);
    await assert.rejects(
      readVolumeRange(path, { offset: bytes.length + 1, length: 0 }, () => done++),
      (error) => isVirtError(error, ErrorCode.INVALID_ARG),
    );
    assert.equal(done, 2);
  });
});

for (const shape of sparseShapes()) {
  Deno.test(`a read with holes skips them unread and keeps every byte: ${shape.name}`, async () => {
    await withTempDir("evirt-transfer-", async (dir) => {
      const path = `${dir}/v.raw`;
      await writeSparseFile(path, shape);
      const expected = sparseBytes(shape);
      for (const range of [{ offset: 0, length: 0 }, { offset: 4095, length: 3 * 1024 * 1024 }]) {
        const { stream, bytes } = await readVolumeRange(path, range, () => {}, { holes: true });
        const got = new Uint8Array(bytes);
        let at = 0;
        let read = 0;
        for await (const piece of stream) {
          if (typeof piece === "number") at += piece;
          else {
            got.set(piece, at);
            at += piece.length;
            read += piece.length;
          }
        }
        const end = Math.min(expected.length, range.offset + (range.length || expected.length));
        assert.equal(at, end - range.offset);
        assert.deepEqual(got, expected.subarray(range.offset, end));
        // Only the runs of data were read: for a sparse file, far less than its length.
        const written = shape.data.reduce((sum, piece) => sum + piece.bytes.length, 0);
        if (written < shape.sizeBytes) assert.ok(read <= written + 4 * 65536, `${read} read`);
      }
    });
  });
}

Deno.test("a read into one reused buffer gives each chunk's bytes until the next is asked", async () => {
  await withTempDir("evirt-transfer-", async (dir) => {
    const path = `${dir}/v.raw`;
    const bytes = new Uint8Array(TRANSFER_CHUNK_BYTES * 2 + 10).map((_, index) => index % 253);
    await Deno.writeFile(path, bytes);
    const { stream } = await readVolumeRange(path, { offset: 0, length: 0 }, () => {}, {
      reuseBuffer: true,
    });
    const got: number[] = [];
    const buffers = new Set<ArrayBufferLike>();
    for await (const chunk of stream) {
      buffers.add(chunk.buffer);
      got.push(...chunk.slice(0, 3), chunk.length);
    }
    assert.equal(buffers.size, 1);
    assert.deepEqual(got, [
      0,
      1,
      2,
      TRANSFER_CHUNK_BYTES,
      ...[...bytes.subarray(TRANSFER_CHUNK_BYTES, TRANSFER_CHUNK_BYTES + 3)],
      TRANSFER_CHUNK_BYTES,
      ...bytes.subarray(2 * TRANSFER_CHUNK_BYTES, 2 * TRANSFER_CHUNK_BYTES + 3),
      10,
    ]);
  });
});
