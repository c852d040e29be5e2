/**
 * libvirt's framing: each packet is a 4-byte big-endian length (counting itself), a 24-byte
 * header {prog, vers, proc, type, serial, status}, then the XDR body. The reader splits a byte
 * stream into packets, refusing a length outside [28, 32 MiB] before buffering any of it.
 *
 * @module
 */

import { HEADER_BYTES, LENGTH_BYTES, MESSAGE_MAX_BYTES, type MessageHeader } from "./protocol.ts";

/** One packet: its header and its body bytes. */
export interface Packet {
  header: MessageHeader;
  body: Uint8Array;
}

/** A framing error: the connection cannot continue (its byte stream is out of step). */
export class FramingError extends Error {
  /** @param message Why the stream was refused. */
  constructor(message: string) {
    super(message);
    this.name = "FramingError";
  }
}

/**
 * Encodes a packet.
 *
 * @throws {FramingError} When the packet would exceed {@linkcode MESSAGE_MAX_BYTES}.
 *
 * @example
 * ```ts
 * import { encodePacket } from "./packet.ts";
 * const bytes = encodePacket({ prog: 1, vers: 1, proc: 1, type: 2, serial: 0, status: 0 }, new Uint8Array());
 * console.log(bytes.length); // 28
 * ```
 */
export function encodePacket(header: MessageHeader, body: Uint8Array): Uint8Array {
  const total = LENGTH_BYTES + HEADER_BYTES + body.length;
  if (total > MESSAGE_MAX_BYTES) {
    throw new FramingError(`packet of ${total} bytes exceeds ${MESSAGE_MAX_BYTES}`);
  }
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, total);
  view.setUint32(4, header.prog);
  view.setUint32(8, header.vers);
  view.setInt32(12, header.proc);
  view.setInt32(16, header.type);
  view.setUint32(20, header.serial);
  view.setInt32(24, header.status);
  bytes.set(body, LENGTH_BYTES + HEADER_BYTES);
  return bytes;
}

/**
 * Splits a byte stream into packets. Feed it what the socket reads; take whole packets out.
 *
 * @example
 * ```ts
 * import { encodePacket, PacketReader } from "./packet.ts";
 * const reader = new PacketReader();
 * reader.push(encodePacket({ prog: 1, vers: 1, proc: 1, type: 0, serial: 7, status: 0 }, new Uint8Array(4)));
 * console.log(reader.next()?.header.serial); // 7
 * ```
 */
export class PacketReader {
  #chunks: Uint8Array[] = [];
  #buffered = 0;

  /** Bytes held but not yet returned as packets (at most one packet plus one read). */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  /**
   * Adds bytes read from the socket.
   *
   * @throws {FramingError} When a length word announces a packet outside [28, 32 MiB].
   */
  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.#chunks.push(bytes);
    this.#buffered += bytes.length;
    this.#checkLength();
  }

  /** The next whole packet, or undefined when more bytes are needed. */
  next(): Packet | undefined {
    const length = this.#announcedLength();
    if (length === undefined || this.#buffered < length) return undefined;
    const bytes = this.#take(length);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const header: MessageHeader = {
      prog: view.getUint32(4),
      vers: view.getUint32(8),
      proc: view.getInt32(12),
      type: view.getInt32(16),
      serial: view.getUint32(20),
      status: view.getInt32(24),
    };
    const packet = { header, body: bytes.subarray(LENGTH_BYTES + HEADER_BYTES) };
    this.#checkLength();
    return packet;
  }

  #checkLength(): void {
    const length = this.#announcedLength();
    if (length === undefined) return;
    if (length < LENGTH_BYTES + HEADER_BYTES) {
      throw new FramingError(`packet length ${length} is less than the header's 28 bytes`);
    }
    if (length > MESSAGE_MAX_BYTES) {
      throw new FramingError(`packet ${length} bytes received from client too large`);
    }
  }

  #announcedLength(): number | undefined {
    if (this.#buffered < LENGTH_BYTES) return undefined;
    const head = this.#peek(LENGTH_BYTES);
    return new DataView(head.buffer, head.byteOffset, LENGTH_BYTES).getUint32(0);
  }

  #peek(count: number): Uint8Array {
    const first = this.#chunks[0];
    if (first.length >= count) return first.subarray(0, count);
    const out = new Uint8Array(count);
    let filled = 0;
    for (const chunk of this.#chunks) {
      const part = chunk.subarray(0, count - filled);
      out.set(part, filled);
      filled += part.length;
      if (filled === count) break;
    }
    return out;
  }

  #take(count: number): Uint8Array {
    const out = new Uint8Array(count);
    let filled = 0;
    while (filled < count) {
      const chunk = this.#chunks[0];
      const wanted = count - filled;
      if (chunk.length <= wanted) {
        out.set(chunk, filled);
        filled += chunk.length;
        this.#chunks.shift();
      } else {
        out.set(chunk.subarray(0, wanted), filled);
        filled += wanted;
        this.#chunks[0] = chunk.subarray(wanted);
      }
    }
    this.#buffered -= count;
    return out;
  }
}
