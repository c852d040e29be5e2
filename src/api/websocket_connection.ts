/**
 * The server side of a WebSocket (RFC 6455) on a connection evirt accepted itself: the event
 * stream sends text messages; the consoles (serial and VNC) send binary ones and take the
 * client's data frames as `message` events. Client data frames are bounded (`messageMaxBytes`)
 * and must come whole: a fragmented message cuts the connection, as one over the bound does. It
 * offers the part of the browser `WebSocket` interface the event stream uses (`send`, `close`,
 * `bufferedAmount`, `readyState`, `open`/`close` events).
 *
 * @module
 */

import { createHash } from "node:crypto";

/** RFC 6455's fixed key suffix for the accept header. */
const ACCEPT_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/** Largest frame payload taken from a client by default (close, ping, a console's keys), in bytes. */
const CLIENT_FRAME_MAX_BYTES = 4096;
/** Largest `messageMaxBytes` (a frame with a 16-bit length). */
const CLIENT_FRAME_LIMIT_BYTES = 65535;
/** How long a closing handshake may take before the connection is cut, in ms. */
const CLOSE_TIMEOUT_MS = 1000;
/** Unsent bytes at which a socket is cut rather than queue more. */
const UNSENT_HARD_MAX_BYTES = 64 * 1024 * 1024;
/**
 * How long one write may make no progress before the connection is cut, in ms, by default (the
 * event stream passes its subscribers' stall bound): a peer that stops reading must not hold a
 * connection, and the bytes queued for it, for ever.
 */
export const WRITE_STALL_MS_DEFAULT = 30_000;

const OPCODE_CONTINUATION = 0x0;
const OPCODE_TEXT = 0x1;
const OPCODE_BINARY = 0x2;
const OPCODE_CLOSE = 0x8;
const OPCODE_PING = 0x9;
const OPCODE_PONG = 0xa;

/** `WebSocket.OPEN` and `WebSocket.CLOSED`, as numbers. */
export const SOCKET_OPEN = 1;
export const SOCKET_CLOSED = 3;

/** What the event stream needs of a WebSocket (the browser interface's subset). */
export interface EventSocket {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(text: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(
    type: "open" | "close",
    listener: () => void,
    options?: { once?: boolean },
  ): void;
}

/** The subprotocols a WebSocket upgrade request offers (`sec-websocket-protocol`). */
export function offeredProtocols(request: Request): string[] {
  return (request.headers.get("sec-websocket-protocol") ?? "").split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
}

/** Whether a request asks for a WebSocket upgrade. */
export function isWebSocketUpgrade(request: Request): boolean {
  return (request.headers.get("upgrade") ?? "").toLowerCase() === "websocket";
}

/** The `sec-websocket-accept` value for a client's key. */
export function acceptKey(key: string): string {
  return createHash("sha1").update(key + ACCEPT_GUID).digest("base64");
}

/** Options of {@linkcode WebSocketConnection}. */
export interface WebSocketOptions {
  /** How long one write may make no progress before the connection is cut, in ms. */
  writeStallMs?: number;
  /** Largest client frame payload, in bytes (at most 65535). Default 4096. */
  messageMaxBytes?: number;
  /** The subprotocol the 101 answer names (`sec-websocket-protocol`); none by default. */
  protocol?: string;
}

/** A client's data message, as the `message` event carries it. */
export class SocketMessageEvent extends Event {
  /** The payload: UTF-8 bytes for a text frame. */
  readonly data: Uint8Array;
  /** Whether the client sent it as a text frame. */
  readonly text: boolean;

  constructor(data: Uint8Array, text: boolean) {
    super("message");
    this.data = data;
    this.text = text;
  }
}

/**
 * A server WebSocket over an accepted connection whose 101 answer was already written. A write
 * that makes no progress for `writeStallMs` (the peer reads nothing) cuts the connection.
 *
 * @example
 * ```ts ignore
 * const socket = new WebSocketConnection(conn);
 * socket.addEventListener("open", () => socket.send("hello"));
 * socket.start(leftover);
 * ```
 */
export class WebSocketConnection extends EventTarget implements EventSocket {
  readonly #conn: Deno.Conn;
  readonly #writeStallMs: number;
  readonly #messageMaxBytes: number;
  #state = 0;
  #unsent = 0;
  #writing: Promise<void> = Promise.resolve();
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #ended: Promise<void>;
  #end!: () => void;

  /**
   * @param conn The connection, its 101 answer written before {@linkcode start}.
   * @param options The write stall bound.
   */
  constructor(conn: Deno.Conn, options: WebSocketOptions = {}) {
    super();
    this.#conn = conn;
    this.#writeStallMs = options.writeStallMs ?? WRITE_STALL_MS_DEFAULT;
    if (!(this.#writeStallMs > 0)) {
      throw new RangeError(`writeStallMs must be positive, received ${this.#writeStallMs}`);
    }
    this.#messageMaxBytes = options.messageMaxBytes ?? CLIENT_FRAME_MAX_BYTES;
    if (!(this.#messageMaxBytes > 0 && this.#messageMaxBytes <= CLIENT_FRAME_LIMIT_BYTES)) {
      throw new RangeError(
        `messageMaxBytes must be in 1..${CLIENT_FRAME_LIMIT_BYTES}, received ${this.#messageMaxBytes}`,
      );
    }
    this.#ended = new Promise((resolve) => this.#end = resolve);
  }

  /** Resolves once the connection is closed. */
  get ended(): Promise<void> {
    return this.#ended;
  }

  get readyState(): number {
    return this.#state;
  }

  /** Bytes handed to `send` and not yet written to the connection. */
  get bufferedAmount(): number {
    return this.#unsent;
  }

  /**
   * Opens the socket (fires `open`) and starts reading the client's frames.
   *
   * @param leftover Bytes already read after the upgrade request.
   */
  start(leftover: Uint8Array = new Uint8Array()): void {
    this.#state = SOCKET_OPEN;
    this.dispatchEvent(new Event("open"));
    this.#readLoop(leftover);
  }

  /** Sends one text message. */
  send(text: string): void {
    if (this.#state !== SOCKET_OPEN) return;
    this.#write(encodeFrame(OPCODE_TEXT, new TextEncoder().encode(text)));
  }

  /** Sends one binary message. */
  sendBytes(bytes: Uint8Array): void {
    if (this.#state !== SOCKET_OPEN) return;
    this.#write(encodeFrame(OPCODE_BINARY, bytes));
  }

  /** Resolves once every message sent so far is written (or the connection is cut). */
  flushed(): Promise<void> {
    return this.#writing;
  }

  /** Starts the closing handshake; the connection is cut if the client does not answer. */
  close(code = 1000, reason = ""): void {
    if (this.#state !== SOCKET_OPEN) return;
    this.#state = 2;
    const reasonBytes = new TextEncoder().encode(reason).subarray(0, 123);
    const payload = new Uint8Array(2 + reasonBytes.length);
    new DataView(payload.buffer).setUint16(0, code);
    payload.set(reasonBytes, 2);
    this.#write(encodeFrame(OPCODE_CLOSE, payload));
    this.#closeTimer = setTimeout(() => this.terminate(), CLOSE_TIMEOUT_MS);
  }

  /** Cuts the connection at once, unsent bytes included. */
  terminate(): void {
    if (this.#state === SOCKET_CLOSED) return;
    this.#state = SOCKET_CLOSED;
    clearTimeout(this.#closeTimer);
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
    this.dispatchEvent(new Event("close"));
    this.#end();
  }

  #write(bytes: Uint8Array): void {
    if (this.#unsent + bytes.byteLength > UNSENT_HARD_MAX_BYTES) {
      this.terminate();
      return;
    }
    this.#unsent += bytes.byteLength;
    this.#writing = this.#writing.then(async () => {
      if (this.#state === SOCKET_CLOSED) return;
      try {
        await writeAll(this.#conn, bytes, this.#writeStallMs);
      } catch {
        this.terminate();
      } finally {
        this.#unsent -= bytes.byteLength;
      }
    });
  }

  async #readLoop(leftover: Uint8Array): Promise<void> {
    let buffer = leftover;
    const chunk = new Uint8Array(16 * 1024);
    try {
      for (;;) {
        const parsed = parseFrame(buffer, this.#messageMaxBytes);
        if (parsed === "invalid") return this.terminate();
        if (parsed !== undefined) {
          buffer = buffer.subarray(parsed.length);
          if (parsed.opcode === OPCODE_CLOSE) {
            if (this.#state === SOCKET_OPEN) {
              this.#state = 2;
              this.#write(encodeFrame(OPCODE_CLOSE, parsed.payload.subarray(0, 2)));
            }
            await this.#writing;
            return this.terminate();
          }
          if (parsed.opcode === OPCODE_PING) this.#write(encodeFrame(OPCODE_PONG, parsed.payload));
          if (parsed.opcode === OPCODE_TEXT || parsed.opcode === OPCODE_BINARY) {
            if (!parsed.fin) return this.terminate();
            if (this.#state === SOCKET_OPEN) {
              this.dispatchEvent(
                new SocketMessageEvent(parsed.payload, parsed.opcode === OPCODE_TEXT),
              );
            }
          }
          if (parsed.opcode === OPCODE_CONTINUATION) return this.terminate();
          continue;
        }
        const count = await this.#conn.read(chunk);
        if (count === null) return this.terminate();
        const joined = new Uint8Array(buffer.length + count);
        joined.set(buffer);
        joined.set(chunk.subarray(0, count), buffer.length);
        buffer = joined;
      }
    } catch {
      this.terminate();
    }
  }
}

/**
 * One frame with FIN set: unmasked as a server sends it, or masked with a fresh random key as a
 * client must (`masked`, evirt's own console client).
 */
export function encodeFrame(opcode: number, payload: Uint8Array, masked = false): Uint8Array {
  const length = payload.byteLength;
  const headerBytes = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const maskBytes = masked ? 4 : 0;
  const bytes = new Uint8Array(headerBytes + maskBytes + length);
  const view = new DataView(bytes.buffer);
  bytes[0] = 0x80 | opcode;
  const maskBit = masked ? 0x80 : 0;
  if (length < 126) {
    bytes[1] = maskBit | length;
  } else if (length < 65536) {
    bytes[1] = maskBit | 126;
    view.setUint16(2, length);
  } else {
    bytes[1] = maskBit | 127;
    view.setBigUint64(2, BigInt(length));
  }
  if (!masked) {
    bytes.set(payload, headerBytes);
    return bytes;
  }
  const mask = crypto.getRandomValues(new Uint8Array(4));
  bytes.set(mask, headerBytes);
  const start = headerBytes + maskBytes;
  for (let index = 0; index < length; index++) {
    bytes[start + index] = payload[index] ^ mask[index % 4];
  }
  return bytes;
}

/** One client frame from the front of `buffer`; undefined when incomplete. */
function parseFrame(
  buffer: Uint8Array,
  maxBytes: number,
): { opcode: number; fin: boolean; payload: Uint8Array; length: number } | "invalid" | undefined {
  if (buffer.length < 2) return undefined;
  const fin = (buffer[0] & 0x80) !== 0;
  const opcode = buffer[0] & 0x0f;
  const masked = (buffer[1] & 0x80) !== 0;
  let length = buffer[1] & 0x7f;
  let offset = 2;
  // Clients must mask; and no client of evirt has anything long to say.
  if (!masked || length === 127) return "invalid";
  if (length === 126) {
    if (buffer.length < 4) return undefined;
    length = (buffer[2] << 8) | buffer[3];
    offset = 4;
  }
  if (length > maxBytes) return "invalid";
  if (buffer.length < offset + 4 + length) return undefined;
  const mask = buffer.subarray(offset, offset + 4);
  const payload = new Uint8Array(length);
  for (let index = 0; index < length; index++) {
    payload[index] = buffer[offset + 4 + index] ^ mask[index % 4];
  }
  return { opcode, fin, payload, length: offset + 4 + length };
}

/** Writes all of `bytes`; rejects when one write makes no progress for `stallMs`. */
export async function writeAll(conn: Deno.Conn, bytes: Uint8Array, stallMs: number): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stalled = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`the peer read nothing for ${stallMs} ms`)),
        stallMs,
      );
    });
    try {
      // The race handles the write's own rejection once the cut closes the connection under it.
      offset += await Promise.race([conn.write(bytes.subarray(offset)), stalled]);
    } finally {
      clearTimeout(timer);
    }
  }
}
