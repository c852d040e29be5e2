import assert from "node:assert/strict";
import { readLines } from "../../../src/log/line_reader.ts";

function streamOf(...chunks: string[]): ReadableStream<Uint8Array> {
  return ReadableStream.from(chunks.map((chunk) => new TextEncoder().encode(chunk)));
}

async function collect(stream: ReadableStream<Uint8Array>, max = 100): Promise<string[]> {
  const lines: string[] = [];
  for await (const line of readLines(stream, max)) lines.push(`${line.number}:${line.text}`);
  return lines;
}

Deno.test("readLines() joins lines split across chunks and numbers them", async () => {
  assert.deepEqual(await collect(streamOf("ab", "c\nd", "é\n", "last")), [
    "1:abc",
    "2:dé",
    "3:last",
  ]);
});

Deno.test("readLines() refuses a line longer than the bound", async () => {
  await assert.rejects(collect(streamOf("12345", "6789\n"), 8), /line 1 is longer than 8 bytes/);
  await assert.rejects(collect(streamOf("ok\n", "123456789"), 8), /line 2 is longer than 8 bytes/);
});

Deno.test("readLines() refuses bytes that are not UTF-8", async () => {
  const bad = ReadableStream.from([new Uint8Array([0x61, 0xff, 0x0a])]);
  await assert.rejects(collect(bad), /line 1 is not UTF-8 text/);
});
