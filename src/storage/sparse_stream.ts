/**
 * evirt's sparse byte streams: a volume's content as records, data with its bytes or a hole
 * with only its length, so the zeros of a sparse image never cross the connection (libvirt's
 * sparse streams do the same with their own messages). Media type
 * {@linkcode SPARSE_STREAM_MEDIA}.
 *
 * A record is a 9-byte head, its type (0 data, 1 hole) and its length (unsigned 64-bit,
 * big-endian), then for data that many bytes. Consecutive zero blocks
 * ({@linkcode SPARSE_BLOCK_BYTES}) make one hole record, consecutive data blocks one data record.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";
import { isZero } from "./volume_transfer.ts";

/** The media type of a sparse stream. */
export const SPARSE_STREAM_MEDIA = "application/x-evirt-sparse-stream";

const HEAD_BYTES = 9;
/** The size of the blocks tested for zeros: a hole is a run of whole zero blocks. */
export const SPARSE_BLOCK_BYTES = 64 * 1024;
const DATA = 0;
const HOLE = 1;

/** A piece of content: bytes, or a hole of that many zero bytes. */
export type SparsePiece = Uint8Array | number;

function head(type: number, length: number): Uint8Array {
  const bytes = new Uint8Array(HEAD_BYTES);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, type);
  view.setBigUint64(1, BigInt(length));
  return bytes;
}

/**
 * Encodes content as a sparse stream: holes (numbers, as a hole map gives them) and zero
 * blocks of the byte chunks become hole records, the rest data records.
 *
 * @example
 * ```ts
 * import { encodeSparse } from "./sparse_stream.ts";
 * const stream = encodeSparse(ReadableStream.from([new Uint8Array(4096)]));
 * let bytes = 0;
 * for await (const chunk of stream) bytes += chunk.length;
 * console.log(bytes); // 9: one hole record
 * ```
 */
export function encodeSparse(source: ReadableStream<SparsePiece>): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  let hole = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) {
          if (hole > 0) controller.enqueue(head(HOLE, hole));
          hole = 0;
          controller.close();
          return;
        }
        if (typeof value === "number") {
          hole += value;
          continue;
        }
        // Block by block: a run of data blocks is one record, a run of zero blocks one hole.
        let sent = false;
        let dataStart = -1;
        for (let at = 0; at < value.byteLength; at += SPARSE_BLOCK_BYTES) {
          const block = value.subarray(at, at + SPARSE_BLOCK_BYTES);
          if (!isZero(block)) {
            if (dataStart < 0) dataStart = at;
            continue;
          }
          if (dataStart >= 0) {
            emitData(value.subarray(dataStart, at));
            dataStart = -1;
            sent = true;
          }
          hole += block.byteLength;
        }
        if (dataStart >= 0) {
          emitData(value.subarray(dataStart));
          sent = true;
        }
        if (sent) return;
      }
      function emitData(bytes: Uint8Array): void {
        if (hole > 0) controller.enqueue(head(HOLE, hole));
        hole = 0;
        controller.enqueue(head(DATA, bytes.byteLength));
        controller.enqueue(bytes);
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

/**
 * Decodes a sparse stream into its pieces, as they arrive (data pieces at most as large as
 * the chunks that carry them).
 *
 * @throws {VirtError} Code 8 for an unknown record type or a stream that ends inside a record.
 */
export async function* decodeSparse(
  body: AsyncIterable<Uint8Array>,
): AsyncGenerator<SparsePiece> {
  let pending = new Uint8Array(0);
  let dataLeft = 0;
  for await (const chunk of body) {
    let rest = chunk;
    while (rest.byteLength > 0) {
      if (dataLeft > 0) {
        const piece = rest.subarray(0, Math.min(dataLeft, rest.byteLength));
        dataLeft -= piece.byteLength;
        rest = rest.subarray(piece.byteLength);
        yield piece;
        continue;
      }
      const needed = HEAD_BYTES - pending.byteLength;
      const joined = new Uint8Array(pending.byteLength + Math.min(needed, rest.byteLength));
      joined.set(pending);
      joined.set(rest.subarray(0, joined.byteLength - pending.byteLength), pending.byteLength);
      rest = rest.subarray(joined.byteLength - pending.byteLength);
      if (joined.byteLength < HEAD_BYTES) {
        pending = joined;
        continue;
      }
      pending = new Uint8Array(0);
      const view = new DataView(joined.buffer);
      const type = view.getUint8(0);
      const length = view.getBigUint64(1);
      if (length > BigInt(Number.MAX_SAFE_INTEGER) || (type !== DATA && type !== HOLE)) {
        throw new VirtError(ErrorCode.INVALID_ARG, "a sparse stream record is malformed", {
          where: "body",
        });
      }
      if (type === HOLE) yield Number(length);
      else dataLeft = Number(length);
    }
  }
  if (dataLeft > 0 || pending.byteLength > 0) {
    throw new VirtError(ErrorCode.INVALID_ARG, "the sparse stream ends inside a record", {
      where: "body",
    });
  }
}

/**
 * The bytes of a content stream that carries no holes (a plain transfer's): a hole in it fails
 * the stream.
 *
 * @example
 * ```ts
 * import { bytesOnly } from "./sparse_stream.ts";
 * const stream = bytesOnly(ReadableStream.from([new Uint8Array([1, 2])]));
 * for await (const chunk of stream) console.log(chunk.length); // 2
 * ```
 */
export function bytesOnly(source: ReadableStream<SparsePiece>): ReadableStream<Uint8Array> {
  return source.pipeThrough(
    new TransformStream<SparsePiece, Uint8Array>({
      transform(piece, controller) {
        if (typeof piece !== "number") controller.enqueue(piece);
        else {
          controller.error(
            new VirtError(ErrorCode.INVALID_ARG, "a hole in a plain transfer", { where: "body" }),
          );
        }
      },
    }),
  );
}
