import assert from "node:assert/strict";
import { concatBytes } from "../../../src/model/byte_chunks.ts";

Deno.test("concatBytes joins chunks in order into a new buffer", () => {
  const first = new Uint8Array([1, 2]);
  const joined = concatBytes([first, new Uint8Array(), new Uint8Array([3, 4, 5])]);
  assert.deepEqual([...joined], [1, 2, 3, 4, 5]);
  first[0] = 9;
  assert.equal(joined[0], 1);
});

Deno.test("concatBytes of no chunks is empty", () => {
  assert.equal(concatBytes([]).byteLength, 0);
});

Deno.test("concatBytes takes subarrays at their own offset and length", () => {
  const base = new Uint8Array([0, 1, 2, 3, 4, 5]);
  assert.deepEqual([...concatBytes([base.subarray(4), base.subarray(1, 3)], 4)], [4, 5, 1, 2]);
});

Deno.test("concatBytes refuses a total that does not match the chunks", () => {
  assert.throws(() => concatBytes([new Uint8Array(3)], 5), RangeError);
  assert.throws(() => concatBytes([new Uint8Array(3)], 2), RangeError);
});
