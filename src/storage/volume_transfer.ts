/**
 * A volume's bytes to and from a stream: an upload writes a stream into the file at an offset
 * (zero blocks as holes when asked), a download reads a range of the file as a stream pulled
 * chunk by chunk, so neither holds more than one chunk in memory.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";
import { openFileExtents } from "./file_extents.ts";
import type { SparsePiece } from "./sparse_stream.ts";

/** Bytes read from the file per download chunk, and gathered before a write in an upload. */
export const TRANSFER_CHUNK_BYTES = 1024 * 1024;

/** Where and how much to transfer. */
export interface TransferRange {
  /** First byte, from the file's start. */
  offset: number;
  /** Most bytes (0: to the stream's or the file's end). */
  length: number;
}

/**
 * Whether every byte of `chunk` is zero.
 *
 * @example
 * ```ts
 * import { isZero } from "./volume_transfer.ts";
 * console.log(isZero(new Uint8Array(8)), isZero(new Uint8Array([0, 1]))); // true false
 * ```
 */
export function isZero(chunk: Uint8Array): boolean {
  let index = 0;
  if (chunk.byteOffset % 4 === 0) {
    // Whole words as plain numbers (BigInt words would cost far more than they save).
    const words = new Uint32Array(chunk.buffer, chunk.byteOffset, chunk.byteLength >>> 2);
    for (let word = 0; word < words.length; word++) if (words[word] !== 0) return false;
    index = words.length * 4;
  }
  for (; index < chunk.byteLength; index++) if (chunk[index] !== 0) return false;
  return true;
}

/**
 * Writes `body` into the file at `path` from `range.offset`: bytes, and in a sparse upload also
 * holes (a sparse stream's, `sparse_stream.ts`).
 *
 * Sparse: the file from the offset on becomes exactly the stream, zero chunks as holes
 * (`cp --sparse=always`): the file is cut at the offset first, then grown back to at least its
 * old length. Only without `range.length`, so no byte past the written range is lost.
 *
 * The data is synced before this returns, unless `options.sync` is false (a local copy, as
 * `cp` makes it).
 *
 * @returns The bytes taken from the stream.
 * @throws {VirtError} Code 38 when the stream is longer than `range.length` (what fits is
 *   written) or the file cannot be written; code 8 when sparse is asked with a length.
 */
export async function writeVolumeRange(
  path: string,
  body: AsyncIterable<SparsePiece>,
  range: TransferRange,
  sparse: boolean,
  options: {
    sync?: boolean;
    /** Told the bytes passed to the file so far (holes included), after each write or seek. */
    onWritten?: (bytes: number) => void;
  } = {},
): Promise<number> {
  if (sparse && range.length !== 0) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      "a sparse upload writes to the volume's end: it takes no length",
      { where: "length" },
    );
  }
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { write: true });
  } catch (error) {
    throw new VirtError(ErrorCode.SYSTEM_ERROR, `cannot open volume '${path}': ${error}`);
  }
  let written = 0;
  try {
    const oldLength = (await file.stat()).size;
    if (sparse) await file.truncate(range.offset);
    await file.seek(range.offset, Deno.SeekMode.Start);
    // Small pieces (a connection's chunks) are gathered into one write of up to a chunk: one
    // system call per chunk rather than per piece.
    const gathered = new Uint8Array(TRANSFER_CHUNK_BYTES);
    let gatheredBytes = 0;
    const flush = async () => {
      let rest = gathered.subarray(0, gatheredBytes);
      while (rest.byteLength > 0) rest = rest.subarray(await file.write(rest));
      gatheredBytes = 0;
    };
    for await (const piece of body) {
      if (typeof piece === "number") {
        // A hole of a sparse stream: only in a sparse upload, where the file was cut first.
        if (!sparse) {
          throw new VirtError(ErrorCode.INVALID_ARG, "a hole in a plain upload", { where: "body" });
        }
        await flush();
        await file.seek(piece, Deno.SeekMode.Current);
        written += piece;
        options.onWritten?.(written);
        continue;
      }
      const whole = piece;
      // Past the length asked, the bytes that fit are written and the rest refused, as
      // libvirt's stream does (ENOSPC).
      const room = range.length === 0 ? whole.byteLength : range.length - written;
      const chunk = whole.byteLength > room ? whole.subarray(0, room) : whole;
      if (sparse && isZero(chunk)) {
        await flush();
        await file.seek(chunk.byteLength, Deno.SeekMode.Current);
      } else if (gatheredBytes + chunk.byteLength <= gathered.byteLength) {
        gathered.set(chunk, gatheredBytes);
        gatheredBytes += chunk.byteLength;
      } else {
        await flush();
        if (chunk.byteLength < gathered.byteLength) {
          gathered.set(chunk);
          gatheredBytes = chunk.byteLength;
        } else {
          let rest = chunk;
          while (rest.byteLength > 0) rest = rest.subarray(await file.write(rest));
        }
      }
      written += chunk.byteLength;
      // What is gathered is not in the file yet: progress counts what is.
      options.onWritten?.(written - gatheredBytes);
      if (chunk !== whole) {
        await flush();
        await file.syncData();
        throw new VirtError(
          ErrorCode.SYSTEM_ERROR,
          "cannot write to stream: No space left on device",
          { where: "length" },
        );
      }
    }
    await flush();
    options.onWritten?.(written);
    const end = range.offset + written;
    if (sparse) await file.truncate(Math.max(end, oldLength));
    if (options.sync ?? true) await file.syncData();
    return written;
  } catch (error) {
    if (error instanceof VirtError) throw error;
    throw new VirtError(ErrorCode.SYSTEM_ERROR, `cannot write volume '${path}': ${error}`);
  } finally {
    file.close();
  }
}

/** How a read range is streamed. */
export interface ReadOptions {
  /**
   * Holes found in the file's hole map (`file_extents.ts`) come as their lengths (numbers),
   * unread; else every byte is read and sent.
   */
  holes?: boolean;
  /**
   * Every chunk is read into the same buffer: only for a consumer that is done with a chunk
   * before it asks for the next (one that writes each to a socket before reading on). A fresh
   * process then touches one chunk of new memory, not one per chunk.
   */
  reuseBuffer?: boolean;
}

/**
 * The bytes of the file at `path` in `range`, as a stream pulled one chunk at a time; `done`
 * is called once when it ends, fails or is cancelled. With `holes`, the file's holes come as
 * their lengths and are never read.
 *
 * @returns The stream and how many bytes it will carry (holes counted).
 * @throws {VirtError} Code 38 when the file cannot be opened, 8 when the offset is past its end.
 *
 * @example
 * ```ts ignore
 * const { stream } = await readVolumeRange("/pool/a.raw", { offset: 0, length: 0 }, () => {}, {
 *   holes: true,
 * });
 * for await (const piece of stream) console.log(typeof piece === "number" ? "hole" : "data");
 * ```
 */
export function readVolumeRange(
  path: string,
  range: TransferRange,
  done: () => void,
  options: ReadOptions & { holes: true },
): Promise<{ stream: ReadableStream<SparsePiece>; bytes: number }>;
export function readVolumeRange(
  path: string,
  range: TransferRange,
  done: () => void,
  options?: ReadOptions,
): Promise<{ stream: ReadableStream<Uint8Array>; bytes: number }>;
export async function readVolumeRange(
  path: string,
  range: TransferRange,
  done: () => void,
  options: ReadOptions = {},
): Promise<{ stream: ReadableStream<SparsePiece>; bytes: number }> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    throw new VirtError(ErrorCode.SYSTEM_ERROR, `cannot open volume '${path}': ${error}`);
  }
  const extents = options.holes ? openFileExtents(path) : undefined;
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    extents?.close();
    file.close();
    done();
  };
  try {
    const size = (await file.stat()).size;
    if (range.offset > size) {
      throw new VirtError(
        ErrorCode.INVALID_ARG,
        `offset ${range.offset} is past the volume's end (${size} bytes)`,
        { where: "offset" },
      );
    }
    const available = size - range.offset;
    const bytes = range.length === 0 ? available : Math.min(range.length, available);
    const end = range.offset + bytes;
    await file.seek(range.offset, Deno.SeekMode.Start);
    let at = range.offset;
    /** Where the current run of data ends (without a hole map: the range's end). */
    let dataEnd = extents === undefined ? end : at;
    const shared = options.reuseBuffer ? new Uint8Array(TRANSFER_CHUNK_BYTES) : undefined;
    const stream = new ReadableStream<SparsePiece>({
      async pull(controller) {
        try {
          if (at === end) {
            finish();
            controller.close();
            return;
          }
          if (at === dataEnd && extents !== undefined) {
            const data = extents.nextData(at, end);
            const holeEnd = data?.start ?? end;
            if (holeEnd > at) {
              // A hole: its length only, and the file position moves past it.
              controller.enqueue(holeEnd - at);
              at = holeEnd;
              if (data !== null) await file.seek(at, Deno.SeekMode.Start);
            }
            dataEnd = data?.end ?? end;
            if (data === null) return;
          }
          const length = Math.min(TRANSFER_CHUNK_BYTES, dataEnd - at);
          const buffer = shared?.subarray(0, length) ?? new Uint8Array(length);
          const count = await file.read(buffer);
          if (count === null) {
            finish();
            controller.error(
              new VirtError(ErrorCode.SYSTEM_ERROR, `volume '${path}' ended early`),
            );
            return;
          }
          at += count;
          controller.enqueue(buffer.subarray(0, count));
        } catch (error) {
          finish();
          controller.error(error);
        }
      },
      cancel() {
        finish();
      },
    }, { highWaterMark: 0 });
    return { stream, bytes };
  } catch (error) {
    finish();
    throw error;
  }
}
