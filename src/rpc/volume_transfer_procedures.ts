/**
 * `virStorageVolDownload` over libvirt's protocol: the volume's bytes from an offset as a
 * stream of data packets, then an empty one, as libvirtd sends them (`virsh vol-download`).
 * The volume is busy with the download until the stream ends (other volume calls get code
 * 55). Sparse streams (holes as their own messages) are not offered: code 8 for the flag.
 *
 * `virStorageVolUpload` is answered with code 3: the connection's stream packets are not yet
 * written in order with backpressure and a finish that waits for the data (evirt's own API
 * and `evirt vol-upload` upload).
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";
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

/** A byte stream as a stream source (reads only). */
function readerSource(stream: ReadableStream<Uint8Array>): StreamSource {
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

/** The volume transfer procedures. */
export const VOLUME_TRANSFER_PROCEDURES: ProcedureTable = {
  virStorageVolDownload: {
    proc: 209,
    readOnly: false,
    args: transferArgs,
    ret: x.void,
    handler: async (args: TransferCall, context) => {
      checkFlags(args.flags, 0, "virStorageVolDownload");
      const storage = storageOf(context, "virStorageVolDownload");
      const { uuid, name } = volumeOf(storage, args.vol);
      const { stream } = await storage.commands.downloadVolume(uuid, name, {
        offset: safeCount(args.offset, "offset"),
        length: safeCount(args.length, "length"),
      });
      context.startStream(readerSource(stream));
    },
  },
  virStorageVolUpload: {
    proc: 208,
    readOnly: false,
    args: transferArgs,
    ret: x.void,
    handler: (args: TransferCall, context) => {
      checkFlags(args.flags, 1, "virStorageVolUpload");
      const storage = storageOf(context, "virStorageVolUpload");
      volumeOf(storage, args.vol);
      throw new VirtError(
        ErrorCode.NO_SUPPORT,
        "virStorageVolUpload over libvirt's protocol (use evirt vol-upload)",
      );
    },
  },
};
