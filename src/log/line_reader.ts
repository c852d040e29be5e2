/**
 * Reading a byte stream as lines of UTF-8 text, each bounded in length, for imports.
 *
 * @module
 */

import { EventStoreCorruptError } from "./errors.ts";
import { concatBytes } from "../model/byte_chunks.ts";

/** One line, without its line feed, and its 1-based number. */
export interface Line {
  text: string;
  number: number;
}

/**
 * Yields the lines of `stream`. A last line without a line feed is yielded too.
 *
 * @param stream The bytes.
 * @param lineMaxBytes The longest line accepted, in bytes.
 * @throws {EventStoreCorruptError} When a line is longer than `lineMaxBytes` or not UTF-8.
 *
 * @example
 * ```ts
 * import { readLines } from "./line_reader.ts";
 * const bytes = new TextEncoder().encode("a\nb\n");
 * for await (const line of readLines(ReadableStream.from([bytes]), 10)) console.log(line.text);
 * ```
 */
export async function* readLines(
  stream: ReadableStream<Uint8Array>,
  lineMaxBytes: number,
): AsyncGenerator<Line> {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let number = 0;
  const take = (last: Uint8Array): string => {
    const whole = concatBytes([...pending, last], pendingBytes + last.length);
    pending = [];
    pendingBytes = 0;
    try {
      return decoder.decode(whole);
    } catch {
      throw new EventStoreCorruptError(`line ${number} is not UTF-8 text`);
    }
  };
  for await (const chunk of stream) {
    let start = 0;
    for (let newline = chunk.indexOf(10); newline !== -1; newline = chunk.indexOf(10, start)) {
      number++;
      if (pendingBytes + newline - start > lineMaxBytes) throw tooLong(number, lineMaxBytes);
      yield { text: take(chunk.subarray(start, newline)), number };
      start = newline + 1;
    }
    if (start < chunk.length) {
      pending.push(chunk.slice(start));
      pendingBytes += chunk.length - start;
      if (pendingBytes > lineMaxBytes) throw tooLong(number + 1, lineMaxBytes);
    }
  }
  if (pendingBytes > 0) {
    number++;
    yield { text: take(new Uint8Array()), number };
  }
}

function tooLong(number: number, lineMaxBytes: number): EventStoreCorruptError {
  return new EventStoreCorruptError(`line ${number} is longer than ${lineMaxBytes} bytes`);
}
