import assert from "node:assert/strict";
import { readBodyBytes } from "../../../src/api/request_body.ts";
import { ErrorCode, VirtError } from "../../../src/model/errors.ts";

/** A POST whose body arrives in `pieces`, with `length` as its content-length when given. */
function request(pieces: string[], length?: number): Request {
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const piece of pieces) controller.enqueue(encoder.encode(piece));
      controller.close();
    },
  });
  const headers: Record<string, string> = length === undefined
    ? {}
    : { "content-length": String(length) };
  return new Request("http://x/", { method: "POST", body, headers });
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

Deno.test("a body shorter than its declared length comes back in a buffer of its own", async () => {
  const bytes = await readBodyBytes(request(["<dom", "ain/", ">"], 10), 64);
  assert.deepEqual(text(bytes), "<domain/>");
  assert.deepEqual(bytes.byteLength, 9);
  assert.deepEqual(bytes.buffer.byteLength, 9);
});

Deno.test("a body of exactly its declared length comes back in the buffer made for it", async () => {
  const bytes = await readBodyBytes(request(["abc", "def"], 6), 64);
  assert.deepEqual(text(bytes), "abcdef");
  assert.deepEqual(bytes.byteOffset, 0);
  assert.deepEqual(bytes.buffer.byteLength, 6);
});

Deno.test("a body without a declared length, or longer than declared, is joined whole", async () => {
  const undeclared = await readBodyBytes(request(["ab", "cd", "e"]), 64);
  assert.deepEqual(text(undeclared), "abcde");
  assert.deepEqual(undeclared.buffer.byteLength, 5);
  const longer = await readBodyBytes(request(["ab", "cd", "ef"], 3), 64);
  assert.deepEqual(text(longer), "abcdef");
  assert.deepEqual(longer.buffer.byteLength, 6);
});

Deno.test("a body over the limit is refused with code 8, declared or not", async () => {
  for (const length of [undefined, 4, 40]) {
    await assert.rejects(
      () => readBodyBytes(request(["abc", "def"], length), 5),
      (error) =>
        error instanceof VirtError && error.code === ErrorCode.INVALID_ARG &&
        error.message.includes("larger than the limit of 5 bytes"),
    );
  }
});
