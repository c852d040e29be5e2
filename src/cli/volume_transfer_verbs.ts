/**
 * `vol-upload` and `vol-download`: a volume's bytes from or to a local file, streamed over the
 * API (never held whole in memory). `--sparse` keeps holes: an upload sends the file's holes
 * (its hole map, unread) and zero blocks, which the service leaves as holes; a download leaves
 * holes and zero blocks as holes in the local file (as `cp --sparse=always`); they never cross
 * the connection: both ends speak evirt's sparse stream (`src/storage/sparse_stream.ts`), holes
 * as records. On a terminal, stderr shows the MiB moved so far.
 *
 * @module
 */

import { ErrorCode, isVirtError } from "../model/errors.ts";
import type { SparsePiece } from "../storage/sparse_stream.ts";
import { readVolumeRange, writeVolumeRange } from "../storage/volume_transfer.ts";
import type { VerbArguments } from "./arguments.ts";
import { CommandFailure } from "./command_failure.ts";
import { findVolume, storageOf, VOLUME_OPTIONS } from "./storage_verb_support.ts";
import type { Verb, VerbContext } from "./verb.ts";

const RANGE_OPTIONS = [
  { name: "offset", kind: "integer", help: "volume offset to upload to" },
  { name: "length", kind: "integer", help: "amount of data to upload" },
  { name: "sparse", kind: "bool", help: "preserve sparseness of volume" },
] as const;

const MIB = 1024 * 1024;

/** The progress label: MiB moved so far, of how many when known. */
function moved(verb: string, bytes: number, total?: number): string {
  const done = (bytes / MIB).toFixed(0);
  return total === undefined
    ? `${verb} ${done} MiB`
    : `${verb} ${done} of ${(total / MIB).toFixed(0)} MiB`;
}

function transferOptions(args: VerbArguments) {
  return { offset: args.integer("offset") ?? 0, length: args.integer("length") ?? 0 };
}

/** The `vol-upload` verb. */
export const volUploadVerb: Verb = {
  name: "vol-upload",
  summary: "upload file contents to a volume",
  options: [
    VOLUME_OPTIONS[0],
    { name: "file", kind: "string", positional: true, required: true, help: "file" },
    VOLUME_OPTIONS[1],
    ...RANGE_OPTIONS,
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const name = args.required("vol");
    const path = args.required("file");
    const volume = await findVolume(context, name, args.text("pool"));
    const sparse = args.flag("sparse");
    let source: { stream: ReadableStream<SparsePiece>; bytes: number };
    try {
      // The whole file is sent, as virsh does: past `--length` the service refuses the rest.
      // Sparse, the file's holes are skipped unread and go as hole records.
      // The client writes each chunk to its socket before it asks for the next: one buffer serves.
      source = await readVolumeRange(path, { offset: 0, length: 0 }, () => {}, {
        holes: sparse,
        reuseBuffer: true,
      });
    } catch {
      throw new CommandFailure(`cannot read ${path}`);
    }
    const { offset, length } = transferOptions(args);
    const bytes = source.bytes;
    const reader = source.stream.getReader();
    let sent = 0;
    const counted = new ReadableStream<SparsePiece>({
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) {
          controller.close();
          return;
        }
        sent += typeof value === "number" ? value : value.byteLength;
        context.progress.relabel(moved("uploading", sent, bytes));
        controller.enqueue(value);
      },
      cancel: (reason) => reader.cancel(reason),
    }, { highWaterMark: 0 });
    try {
      context.progress.start(moved("uploading", 0, bytes));
      await storageOf(context).upload(volume.poolUuid, volume.name, counted, {
        offset,
        length,
        sparse,
        size: bytes,
      }).catch((error) => {
        // A failure while the bytes flow is virsh's "send" failure; before, its "upload" one.
        const sending = isVirtError(error, ErrorCode.SYSTEM_ERROR);
        throw new CommandFailure(
          `cannot ${sending ? "send data" : "upload"} to volume ${name}`,
          error,
        );
      });
    } finally {
      context.progress.stop();
      // Closes the file if the upload ended before the stream did.
      await reader.cancel().catch(() => {});
    }
  },
};

/** The `vol-download` verb. */
export const volDownloadVerb: Verb = {
  name: "vol-download",
  summary: "download volume contents to a file",
  options: [
    VOLUME_OPTIONS[0],
    { name: "file", kind: "string", positional: true, required: true, help: "file" },
    VOLUME_OPTIONS[1],
    ...RANGE_OPTIONS,
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const name = args.required("vol");
    const path = args.required("file");
    const volume = await findVolume(context, name, args.text("pool"));
    try {
      (await Deno.open(path, { write: true, create: true, truncate: true })).close();
    } catch {
      throw new CommandFailure(`cannot create ${path}`);
    }
    const sparse = args.flag("sparse");
    try {
      const stream = await storageOf(context).download(volume.poolUuid, volume.name, {
        ...transferOptions(args),
        sparse,
      });
      context.progress.start(moved("downloading", 0));
      let total = 0;
      const counted = async function* () {
        for await (const piece of stream) {
          total += typeof piece === "number" ? piece : piece.byteLength;
          context.progress.relabel(moved("downloading", total));
          yield piece;
        }
      };
      // Written as the service writes an upload: holes and zero blocks (sparse) stay holes,
      // small pieces are gathered; not synced, as `virsh` and `cp` leave a copy.
      await writeVolumeRange(path, counted(), { offset: 0, length: 0 }, sparse, { sync: false });
    } catch (error) {
      throw new CommandFailure(`cannot download from volume ${name}`, error);
    } finally {
      context.progress.stop();
    }
  },
};
