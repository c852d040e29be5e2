/**
 * `virStorageVolDownload` and `virStorageVolUpload` over libvirt's protocol, as libvirtd serves
 * them to `virsh vol-download` / `vol-upload`: the volume's bytes as stream packets, then an
 * empty one (download) or the client's finish, answered once the bytes are written (upload).
 * With the sparse stream flag, holes travel as hole messages both ways: a download sends the
 * file's holes (its hole map, unread), an upload leaves the holes it is sent unwritten. The
 * volume is busy with the transfer until the stream ends (other volume calls get code 55).
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";
import type { SparsePiece } from "../storage/sparse_stream.ts";
import { checkFlags } from "./domain_lookup.ts";
import type { ProcedureTable, StreamSource } from "./procedure.ts";
import { storageOf, volumeOf, volumeType, type WireVolume } from "./storage_procedures.ts";
import { x } from "./xdr.ts";

const transferArgs = x.struct(
  ["vol", volumeType],
  ["offset", x.uhyper],
  ["length", x.uhyper],
  ["flags", x.uint],
);

interface TransferCall {
  vol: WireVolume;
  offset: bigint;
  length: bigint;
  flags: number;
}

function safeCount(value: bigint, what: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new VirtError(ErrorCode.OVERFLOW, `${what} ${value} is larger than evirt supports`);
  }
  return Number(value);
}

/** `VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM` and `VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM`. */
const SPARSE_STREAM = 1;

/** A download's pieces as a stream source (reads only; holes only in a sparse stream). */
function readerSource(stream: ReadableStream<SparsePiece>): StreamSource {
  const reader = stream.getReader();
  let closed = false;
  return {
    async read() {
      const { done, value } = await reader.read();
      return done ? null : value;
    },
    write() {
      return Promise.reject(new VirtError(ErrorCode.RPC, "a download takes no data"));
    },
    close() {
      if (closed) return;
      closed = true;
      reader.cancel().catch(() => {});
    },
  };
}

/**
 * What the client sends, handed one piece at a time to the upload that writes it: a write
 * settles once the upload took its piece, so at most one piece waits here.
 */
class UploadHandoff implements AsyncIterable<SparsePiece> {
  #waiting: { piece: SparsePiece | null; taken: () => void } | undefined;
  #wanted: ((entry: { piece: SparsePiece | null; taken: () => void }) => void) | undefined;
  #failure: Error | undefined;
  #started!: () => void;
  /** Settles when the upload asks for its first piece (its volume is open). */
  readonly started = new Promise<void>((resolve) => this.#started = resolve);

  /** Hands `piece` over (null: the end); settles once taken, rejects once failed. */
  give(piece: SparsePiece | null): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    return new Promise<void>((resolve, reject) => {
      const entry = { piece, taken: resolve };
      this.#rejectWaiting = reject;
      const wanted = this.#wanted;
      this.#wanted = undefined;
      if (wanted !== undefined) wanted(entry);
      else this.#waiting = entry;
    });
  }

  #rejectWaiting: ((error: Error) => void) | undefined;

  /** Ends the handoff with `error`: the upload's next piece and the waiting write fail. */
  fail(error: Error): void {
    if (this.#failure !== undefined) return;
    this.#failure = error;
    this.#rejectWaiting?.(error);
    this.#waiting = undefined;
    this.#wanted?.({ piece: null, taken: () => {} });
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<SparsePiece> {
    for (;;) {
      this.#started();
      if (this.#failure !== undefined) throw this.#failure;
      const entry = this.#waiting ??
        await new Promise<{ piece: SparsePiece | null; taken: () => void }>((resolve) =>
          this.#wanted = resolve
        );
      this.#waiting = undefined;
      if (this.#failure !== undefined) throw this.#failure;
      entry.taken();
      if (entry.piece === null) return;
      yield entry.piece;
    }
  }
}

/** The volume transfer procedures. */
export const VOLUME_TRANSFER_PROCEDURES: ProcedureTable = {
  virStorageVolDownload: {
    proc: 209,
    readOnly: false,
    args: transferArgs,
    ret: x.void,
    handler: async (args: TransferCall, context) => {
      checkFlags(args.flags, SPARSE_STREAM, "virStorageVolDownload");
      const storage = storageOf(context, "virStorageVolDownload");
      const { uuid, name } = volumeOf(storage, args.vol);
      const range = {
        offset: safeCount(args.offset, "offset"),
        length: safeCount(args.length, "length"),
      };
      // Sparse: the file's holes go as hole messages, unread (libvirtd sends its hole map too).
      const { stream } = (args.flags & SPARSE_STREAM) !== 0
        ? await storage.commands.downloadVolume(uuid, name, range, { holes: true })
        : await storage.commands.downloadVolume(uuid, name, range);
      context.startStream(readerSource(stream));
    },
  },
  virStorageVolUpload: {
    proc: 208,
    readOnly: false,
    args: transferArgs,
    ret: x.void,
    handler: async (args: TransferCall, context) => {
      checkFlags(args.flags, SPARSE_STREAM, "virStorageVolUpload");
      const storage = storageOf(context, "virStorageVolUpload");
      const { uuid, name } = volumeOf(storage, args.vol);
      const sparse = (args.flags & SPARSE_STREAM) !== 0;
      const handoff = new UploadHandoff();
      const upload = storage.commands.uploadVolume(uuid, name, handoff, {
        offset: safeCount(args.offset, "offset"),
        length: safeCount(args.length, "length"),
      }, sparse);
      // A refusal before the volume is open (busy, bad range) is the call's answer.
      upload.catch((error) => handoff.fail(error));
      await Promise.race([handoff.started, upload]);
      let finished = false;
      context.startStream({
        write: (bytes) => handoff.give(bytes),
        ...(sparse ? { writeHole: (lengthBytes: number) => handoff.give(lengthBytes) } : {}),
        async finish() {
          finished = true;
          await handoff.give(null);
          await upload;
        },
        close() {
          if (!finished) {
            handoff.fail(new VirtError(ErrorCode.OPERATION_ABORTED, "the upload was aborted"));
          }
        },
      });
    },
  },
};
