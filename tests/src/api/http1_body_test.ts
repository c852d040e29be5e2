import assert from "node:assert/strict";
import { ConnectionReader } from "../../../src/api/connection_reader.ts";
import { lendBodyPieces, requestBody } from "../../../src/api/http1_body.ts";

/** A connection whose reads return `reads` one after the other, then the end. */
function scripted(reads: Uint8Array[]): Deno.Conn {
  const queue = [...reads];
  return {
    read(buffer: Uint8Array): Promise<number | null> {
      const next = queue.shift();
      if (next === undefined) return Promise.resolve(null);
      assert.ok(next.length <= buffer.length, "a scripted read fits the buffer");
      buffer.set(next);
      return Promise.resolve(next.length);
    },
  } as unknown as Deno.Conn;
}

/** Reads `body` piece by piece, copying each before asking for the next (the lending contract). */
async function copyAll(body: ReadableStream<Uint8Array>): Promise<number[]> {
  const out: number[] = [];
  for await (const piece of body) out.push(...piece);
  return out;
}

const payload = new Uint8Array(200_000).map((_, index) => (index * 7) % 256);
const encoder = new TextEncoder();

Deno.test("a lent body gives the same bytes as a copied one, length-framed and chunked", async () => {
  // Chunked: a chunk's CRLF arrives in a read of its own, after the chunk's last byte, so a
  // read after a lent piece must not land over it.
  const chunked = [
    encoder.encode("5\r\n"),
    payload.subarray(0, 5),
    encoder.encode("\r\n"),
    encoder.encode(`${(70_000).toString(16)}\r\n`),
    payload.subarray(5, 65_536 + 5 - 3),
    payload.subarray(65_536 + 5 - 3, 70_005),
    encoder.encode("\r"),
    encoder.encode("\n0\r\n\r\n"),
  ];
  for (const lent of [false, true]) {
    const reader = new ConnectionReader(scripted(chunked));
    const headers = new Headers({ "transfer-encoding": "chunked" });
    const body = requestBody("PUT", headers, reader, 5000, () => Promise.resolve());
    assert.equal(lendBodyPieces(body.stream!), true);
    if (!lent) {
      // Not lent: pieces are copies that survive later reads.
      const fresh = requestBody(
        "PUT",
        headers,
        new ConnectionReader(scripted(chunked)),
        5000,
        () => Promise.resolve(),
      );
      const held: Uint8Array[] = [];
      for await (const piece of fresh.stream!) held.push(piece);
      assert.deepEqual(held.flatMap((piece) => [...piece]), [...payload.subarray(0, 70_005)]);
      continue;
    }
    assert.deepEqual(await copyAll(body.stream!), [...payload.subarray(0, 70_005)]);
    assert.equal(body.complete(), true);
  }
  const reads: Uint8Array[] = [];
  for (let at = 0; at < payload.length; at += 50_000) reads.push(payload.subarray(at, at + 50_000));
  const reader = new ConnectionReader(scripted(reads));
  const headers = new Headers({ "content-length": String(payload.length) });
  const body = requestBody("PUT", headers, reader, 5000, () => Promise.resolve());
  lendBodyPieces(body.stream!);
  assert.deepEqual(await copyAll(body.stream!), [...payload]);
  assert.equal(lendBodyPieces(new ReadableStream()), false);
});
