/**
 * The service's console socket (`/v1/domains/:ref/console/socket`) from the command line: a
 * WebSocket client over the service's unix socket (RFC 6455: the handshake, masked binary frames
 * out, the server's frames in), as a pair of byte streams for `console_relay.ts`. `evirt console`
 * uses it for a domain another host of the fleet owns, whose console that host carries.
 *
 * Bounds: the answer's head, each frame (larger: the stream fails), and the handshake's time.
 * A close with code 4000 + N (the service's refusals) is libvirt's error N with its reason.
 *
 * @module
 */

import { acceptKey, encodeFrame, writeAll } from "../api/websocket_connection.ts";
import { ErrorCode, type ErrorCodeValue, VirtError } from "../model/errors.ts";
import { concatBytes } from "../model/byte_chunks.ts";

/** Largest answer head accepted, in bytes. */
const HEAD_MAX_BYTES = 64 * 1024;
/** Largest frame accepted from the service, in bytes. */
const FRAME_MAX_BYTES = 1024 * 1024;
/** Longest wait for the handshake's answer, in ms. */
const HANDSHAKE_TIMEOUT_MS = 30_000;
/** Longest a write to the service may make no progress before the console ends, in ms. */
const WRITE_STALL_MS = 30_000;
/** Close codes of the service's refusals: this plus libvirt's error code. */
const CLOSE_ERROR_BASE = 4000;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A console socket as byte streams: the guest's output, and what is typed to it. */
export interface ConsoleSocket {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
  /** Why the service closed the socket, when it was a refusal or a failure. */
  failure(): VirtError | undefined;
}

/** One frame from the service: opcode and payload. */
interface Frame {
  opcode: number;
  payload: Uint8Array;
}

/** Reads frames (and the head before them) from a connection, bounded. */
class FrameReader {
  #buffer: Uint8Array = new Uint8Array();
  readonly #conn: Deno.Conn;

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  async #fill(): Promise<boolean> {
    const chunk = new Uint8Array(64 * 1024);
    const count = await this.#conn.read(chunk);
    if (count === null) return false;
    this.#buffer = concatBytes([this.#buffer, chunk.subarray(0, count)]);
    return true;
  }

  /** The answer's head up to its blank line, and the body bytes already read. */
  async head(): Promise<string> {
    for (;;) {
      const text = decoder.decode(this.#buffer);
      const end = text.indexOf("\r\n\r\n");
      if (end >= 0) {
        const headBytes = encoder.encode(text.slice(0, end + 4)).length;
        this.#buffer = this.#buffer.subarray(headBytes);
        return text.slice(0, end);
      }
      if (this.#buffer.length > HEAD_MAX_BYTES) {
        throw new VirtError(ErrorCode.RPC, "the service's answer head is too large");
      }
      if (!await this.#fill()) throw new VirtError(ErrorCode.RPC, "the service closed at once");
    }
  }

  /** The rest of the connection (an error answer's body), bounded. */
  async rest(lengthBytes: number): Promise<Uint8Array> {
    const wanted = Math.min(lengthBytes, HEAD_MAX_BYTES);
    while (this.#buffer.length < wanted && await this.#fill());
    return this.#buffer.subarray(0, wanted);
  }

  /** The next frame; null when the connection ended. */
  async frame(): Promise<Frame | null> {
    for (;;) {
      const parsed = this.#parse();
      if (parsed !== undefined) return parsed;
      if (!await this.#fill()) return null;
    }
  }

  #parse(): Frame | undefined {
    const bytes = this.#buffer;
    if (bytes.length < 2) return undefined;
    let length = bytes[1] & 0x7f;
    let offset = 2;
    if (length === 126) {
      if (bytes.length < 4) return undefined;
      length = (bytes[2] << 8) | bytes[3];
      offset = 4;
    } else if (length === 127) {
      if (bytes.length < 10) return undefined;
      const view = new DataView(bytes.buffer, bytes.byteOffset + 2, 8);
      length = Number(view.getBigUint64(0));
      offset = 10;
    }
    if (length > FRAME_MAX_BYTES) {
      throw new VirtError(ErrorCode.RPC, `a console frame of ${length} bytes is too large`);
    }
    const masked = (bytes[1] & 0x80) !== 0;
    const maskOffset = offset;
    if (masked) offset += 4;
    if (bytes.length < offset + length) return undefined;
    const payload = bytes.slice(offset, offset + length);
    if (masked) {
      for (let index = 0; index < payload.length; index++) {
        payload[index] ^= bytes[maskOffset + (index % 4)];
      }
    }
    this.#buffer = bytes.subarray(offset + length);
    return { opcode: bytes[0] & 0x0f, payload };
  }
}

/** The error a close frame tells; undefined for a normal end. */
function closeError(payload: Uint8Array): VirtError | undefined {
  if (payload.length < 2) return undefined;
  const code = (payload[0] << 8) | payload[1];
  const reason = decoder.decode(payload.subarray(2));
  if (code === 1000 || code === 1001) return undefined;
  if (code > CLOSE_ERROR_BASE && code < CLOSE_ERROR_BASE + 1000) {
    return new VirtError((code - CLOSE_ERROR_BASE) as ErrorCodeValue, reason);
  }
  return new VirtError(ErrorCode.OPERATION_FAILED, `the console closed (${code}): ${reason}`);
}

/**
 * Opens the console socket `target` (path and query) on the service's unix socket `path`.
 *
 * @throws {VirtError} The service's error for a refused upgrade (its code and message); 38
 *   when the socket cannot be reached; 39 for an answer that is not a WebSocket.
 *
 * @example
 * ```ts ignore
 * const socket = await openConsoleSocket("/run/evirt/evirt.sock", "/v1/domains/web/console/socket");
 * ```
 */
export async function openConsoleSocket(path: string, target: string): Promise<ConsoleSocket> {
  let conn: Deno.Conn;
  try {
    conn = await Deno.connect({ transport: "unix", path });
  } catch (error) {
    throw new VirtError(
      ErrorCode.SYSTEM_ERROR,
      `cannot reach the evirt service at '${path}': ${(error as Error).message}`,
    );
  }
  const reader = new FrameReader(conn);
  const timer = setTimeout(() => conn.close(), HANDSHAKE_TIMEOUT_MS);
  try {
    const key = (crypto.getRandomValues(new Uint8Array(16)) as Uint8Array & {
      toBase64(): string;
    }).toBase64();
    await writeAll(
      conn,
      encoder.encode(
        `GET ${target} HTTP/1.1\r\nHost: evirt\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      ),
      WRITE_STALL_MS,
    );
    const head = await reader.head();
    const [statusLine, ...lines] = head.split("\r\n");
    const headers = new Map(lines.map((line) => {
      const colon = line.indexOf(":");
      return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()];
    }));
    const status = Number(statusLine.split(" ")[1]);
    if (status !== 101) {
      const body = await reader.rest(Number(headers.get("content-length") ?? HEAD_MAX_BYTES));
      let failure: { code: number; detail?: string; message: string } | undefined;
      try {
        failure = (JSON.parse(decoder.decode(body)) as { error: typeof failure }).error;
      } catch {
        // Not the service's error document.
      }
      throw failure === undefined
        ? new VirtError(ErrorCode.RPC, `the console socket answered ${statusLine}`)
        : new VirtError(failure.code as ErrorCodeValue, failure.detail ?? failure.message);
    }
    if (headers.get("sec-websocket-accept") !== acceptKey(key)) {
      throw new VirtError(ErrorCode.RPC, "the console socket's handshake does not match");
    }
  } catch (error) {
    try {
      conn.close();
    } catch {
      // Closed by the timer.
    }
    throw error;
  } finally {
    clearTimeout(timer);
  }
  let closed = false;
  let failure: VirtError | undefined;
  const close = () => {
    if (closed) return;
    closed = true;
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  };
  const readable = new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        const frame = await reader.frame().catch((error) => {
          if (closed) return null;
          throw error;
        });
        if (frame === null) {
          close();
          controller.close();
          return;
        }
        if (frame.opcode === 1 || frame.opcode === 2 || frame.opcode === 0) {
          controller.enqueue(frame.payload);
          return;
        }
        if (frame.opcode === 9) {
          await writeAll(conn, encodeFrame(10, frame.payload, true), WRITE_STALL_MS).catch(
            () => {},
          );
          continue;
        }
        if (frame.opcode === 8) {
          await writeAll(conn, encodeFrame(8, frame.payload.subarray(0, 2), true), WRITE_STALL_MS)
            .catch(() => {});
          close();
          failure = closeError(frame.payload);
          if (failure === undefined) controller.close();
          else controller.error(failure);
          return;
        }
      }
    },
    cancel: close,
  });
  const writable = new WritableStream<Uint8Array>({
    async write(bytes) {
      await writeAll(conn, encodeFrame(2, bytes, true), WRITE_STALL_MS);
    },
    async close() {
      await writeAll(conn, encodeFrame(8, new Uint8Array([0x03, 0xe8]), true), WRITE_STALL_MS)
        .catch(() => {});
      close();
    },
    abort: close,
  });
  return { readable, writable, failure: () => failure };
}
