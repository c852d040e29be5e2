/**
 * Sparse streams: zero chunks become one hole record, data keeps its bytes, the decoder
 * rebuilds the pieces whatever the chunking of the wire, and a truncated or malformed stream
 * is refused.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ErrorCode, isVirtError } from "../../../src/model/errors.ts";
import { decodeSparse, encodeSparse } from "../../../src/storage/sparse_stream.ts";

async function bytesOf(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  const joined = new Uint8Array(chunks.reduce((sum, each) => sum + each.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    joined.set(chunk, at);
    at += chunk.length;
  }
  return joined;
}

async function piecesOf(wire: Uint8Array, size: number): Promise<(Uint8Array | number)[]> {
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < wire.length; at += size) chunks.push(wire.subarray(at, at + size));
  const pieces: (Uint8Array | number)[] = [];
  for await (const piece of decodeSparse(ReadableStream.from(chunks))) {
    pieces.push(typeof piece === "number" ? piece : piece.slice());
  }
  return pieces;
}

Deno.test("encodeSparse sends zero chunks as one hole and data as itself", async () => {
  const data = new Uint8Array([1, 2, 3]);
  const wire = await bytesOf(
    encodeSparse(ReadableStream.from([new Uint8Array(100), new Uint8Array(28), data])),
  );
  assert.equal(wire.length, 9 + 9 + 3);
  for (const size of [1, 4, 9, 1000]) {
    const pieces = await piecesOf(wire, size);
    const holes = pieces.filter((piece) => typeof piece === "number");
    assert.deepEqual(holes, [128], `chunks of ${size}`);
    const bytes = pieces.filter((piece) => typeof piece !== "number") as Uint8Array[];
    assert.deepEqual([...bytes.flatMap((piece) => [...piece])], [1, 2, 3], `chunks of ${size}`);
  }
});

Deno.test("decodeSparse refuses a stream cut inside a record or of an unknown type", async () => {
  const wire = await bytesOf(encodeSparse(ReadableStream.from([new Uint8Array([5, 6])])));
  await assert.rejects(
    () => piecesOf(wire.subarray(0, wire.length - 1), 4),
    (error) => isVirtError(error, ErrorCode.INVALID_ARG),
  );
  const unknown = wire.slice();
  unknown[0] = 7;
  await assert.rejects(
    () => piecesOf(unknown, 4),
    (error) => isVirtError(error, ErrorCode.INVALID_ARG),
  );
});

Deno.test("encodeSparse joins the holes it is given with zero blocks into one record", async () => {
  const wire = await bytesOf(
    encodeSparse(
      ReadableStream.from<Uint8Array | number>([5, new Uint8Array(65536), 7, new Uint8Array([9])]),
    ),
  );
  assert.equal(wire.length, 9 + 9 + 1);
  assert.deepEqual(await piecesOf(wire, 1000), [65548, new Uint8Array([9])]);
});
