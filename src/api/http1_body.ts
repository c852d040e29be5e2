/**
 * An HTTP/1.1 request body as a stream pulled from the connection: `content-length` or
 * `chunked` framing, every read bounded by the idle timeout, nothing read before the handler asks
 * (so a body the handler refuses early is never buffered).
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";
import { type ConnectionReader, ReadTimeoutError } from "./connection_reader.ts";

/** Longest chunk-size line or trailer line accepted, in bytes. */
const CHUNK_LINE_MAX_BYTES = 1024;
/** Trailer fields accepted after a chunked body. */
const TRAILER_FIELDS_MAX = 32;
/** Bytes handed to the handler per read at most. */
const BODY_PIECE_MAX_BYTES = 64 * 1024;

/** Switches a body's pieces to lent views (see {@linkcode lendBodyPieces}), by body. */
const lenders = new WeakMap<ReadableStream<Uint8Array>, () => void>();

/**
 * Asks that the pieces of `body` (a request body of this server) be views of the connection's
 * buffer rather than copies, each valid only until the consumer asks for the next piece: for a
 * consumer done with a piece before it reads on (an upload writing it to a file). A copy per
 * piece is a fresh 64 KiB allocation for the garbage collector to reclaim: most of a streamed
 * upload's CPU time.
 *
 * @returns Whether `body` is such a body (else nothing changes and its pieces stay copies).
 */
export function lendBodyPieces(body: ReadableStream<Uint8Array>): boolean {
  const lend = lenders.get(body);
  lend?.();
  return lend !== undefined;
}

/** A request's body and whether it was read to its end. */
export interface RequestBody {
  /** The body, or null when the request has none. */
  stream: ReadableStream<Uint8Array> | null;
  /** Whether the whole body was read (the connection can carry the next request). */
  complete(): boolean;
}

/**
 * The body of a request whose head was just read.
 *
 * @param sendContinue Writes `100 Continue` (called once, before the first read, if asked for).
 * @throws {VirtError} Code 8 for a bad `content-length`, code 84 for an unsupported
 *   `transfer-encoding`, code 8 for a body on GET or HEAD.
 */
export function requestBody(
  method: string,
  headers: Headers,
  reader: ConnectionReader,
  idleTimeoutMs: number,
  sendContinue: () => Promise<void>,
): RequestBody {
  const encoding = headers.get("transfer-encoding");
  const lengthText = headers.get("content-length");
  if (encoding !== null && encoding.toLowerCase() !== "chunked") {
    throw new VirtError(
      ErrorCode.OPERATION_UNSUPPORTED,
      `unsupported transfer-encoding '${encoding}'`,
      { where: "transfer-encoding" },
    );
  }
  if (encoding !== null && lengthText !== null) {
    throw new VirtError(ErrorCode.INVALID_ARG, "both content-length and transfer-encoding", {
      where: "content-length",
    });
  }
  if (lengthText !== null && !/^[0-9]{1,15}$/.test(lengthText)) {
    throw new VirtError(ErrorCode.INVALID_ARG, `invalid content-length '${lengthText}'`, {
      where: "content-length",
    });
  }
  const declared = lengthText === null ? 0 : Number(lengthText);
  if (encoding === null && declared === 0) return { stream: null, complete: () => true };
  if (method === "GET" || method === "HEAD") {
    throw new VirtError(ErrorCode.INVALID_ARG, `a ${method} request cannot carry a body`, {
      where: "body",
    });
  }
  const wantsContinue = (headers.get("expect") ?? "").toLowerCase() === "100-continue";
  let continued = !wantsContinue;
  let done = false;
  const pieces = { lent: false };
  const more = async () => {
    if (!await reader.fill(Date.now() + idleTimeoutMs)) {
      throw new VirtError(ErrorCode.INVALID_ARG, "request body ended early", { where: "body" });
    }
  };
  const next = encoding === null
    ? lengthPieces(reader, declared, more, pieces)
    : chunkedPieces(reader, more, pieces);
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!continued) {
        continued = true;
        await sendContinue();
      }
      try {
        const piece = await next();
        if (piece === null) {
          done = true;
          controller.close();
        } else {
          controller.enqueue(piece);
        }
      } catch (error) {
        controller.error(
          error instanceof ReadTimeoutError
            ? new VirtError(
              ErrorCode.OPERATION_TIMEOUT,
              `request body stalled for ${idleTimeoutMs} ms`,
              { where: "body" },
            )
            : error,
        );
      }
    },
  }, { highWaterMark: 0 });
  lenders.set(stream, () => pieces.lent = true);
  return { stream, complete: () => done };
}

type Pieces = () => Promise<Uint8Array | null>;

/** Whether pieces are lent views of the connection's buffer rather than copies. */
interface PieceMode {
  lent: boolean;
}

function lengthPieces(
  reader: ConnectionReader,
  length: number,
  more: () => Promise<void>,
  mode: PieceMode,
): Pieces {
  let left = length;
  return async () => {
    if (left === 0) return null;
    if (reader.available.length === 0) await more();
    const piece = reader.take(Math.min(left, BODY_PIECE_MAX_BYTES), mode.lent);
    left -= piece.length;
    return piece;
  };
}

function chunkedPieces(
  reader: ConnectionReader,
  more: () => Promise<void>,
  mode: PieceMode,
): Pieces {
  let left = 0;
  let finished = false;
  const line = async (): Promise<string> => {
    for (;;) {
      const available = reader.available;
      const end = available.subarray(0, CHUNK_LINE_MAX_BYTES + 2).indexOf(10);
      if (end > 0 && available[end - 1] === 13) {
        const text = new TextDecoder("latin1").decode(available.subarray(0, end - 1));
        reader.consume(end + 1);
        return text;
      }
      if (end !== -1 || available.length > CHUNK_LINE_MAX_BYTES) {
        throw new VirtError(ErrorCode.INVALID_ARG, "malformed chunked body", { where: "body" });
      }
      await more();
    }
  };
  return async () => {
    if (finished) return null;
    if (left === 0) {
      const size = /^([0-9A-Fa-f]{1,12})(;.*)?$/.exec(await line());
      if (size === null) {
        throw new VirtError(ErrorCode.INVALID_ARG, "malformed chunk size", { where: "body" });
      }
      left = parseInt(size[1], 16);
      if (left === 0) {
        // Trailer fields, if any, end with an empty line.
        let trailers = 0;
        while (await line() !== "") {
          if (++trailers > TRAILER_FIELDS_MAX) {
            throw new VirtError(ErrorCode.INVALID_ARG, "too many trailer fields", {
              where: "body",
            });
          }
        }
        finished = true;
        return null;
      }
    }
    if (reader.available.length === 0) await more();
    if (mode.lent && Math.min(left, BODY_PIECE_MAX_BYTES, reader.available.length) === left) {
      // The chunk's last piece: its CRLF is buffered first, as reading it after a lent piece
      // could land over that piece.
      while (reader.available.length < left + 2) await more();
    }
    const piece = reader.take(Math.min(left, BODY_PIECE_MAX_BYTES), mode.lent);
    left -= piece.length;
    if (left === 0 && (await line()) !== "") {
      throw new VirtError(ErrorCode.INVALID_ARG, "malformed chunked body", { where: "body" });
    }
    return piece;
  };
}
