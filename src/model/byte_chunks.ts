/**
 * Joining byte chunks (a body read in pieces, packets queued for one write) into one buffer.
 *
 * @module
 */

/**
 * The chunks, in order, as one new `Uint8Array`: one allocation and one copy per chunk.
 *
 * @param chunks The pieces, in order.
 * @param totalBytes Their summed length when the caller counted it already (it is then trusted
 *   and must be exact); counted here otherwise.
 * @returns A new buffer; the chunks are not kept.
 * @throws {RangeError} When `totalBytes` is smaller than the chunks' summed length.
 *
 * @example
 * ```ts
 * import { concatBytes } from "./byte_chunks.ts";
 * const bytes = concatBytes([new Uint8Array([1, 2]), new Uint8Array([3])]);
 * console.log(bytes); // Uint8Array(3) [ 1, 2, 3 ]
 * ```
 */
export function concatBytes(
  chunks: readonly Uint8Array[],
  totalBytes?: number,
): Uint8Array<ArrayBuffer> {
  let total = totalBytes;
  if (total === undefined) {
    total = 0;
    for (const chunk of chunks) total += chunk.byteLength;
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  if (offset !== total) {
    throw new RangeError(`chunks hold ${offset} bytes where ${total} were announced`);
  }
  return bytes;
}
