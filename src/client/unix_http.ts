/**
 * A small HTTP/1.1 client over a unix socket, for the client of a local service
 * (`evirt:///system`). It exists for start-up time: Deno builds its `fetch`, `Request` and
 * `Response` machinery on first use, which costs a short-lived `evirt list` several times what
 * the call itself takes; this client speaks the protocol over `Deno.connect` directly.
 *
 * One request per connection (`connection: close`); the answer's body is framed by
 * `content-length`, by chunked transfer coding (event streams) or by the end of the connection.
 * The head and every chunk are bounded; aborting the request's signal closes the connection.
 *
 * @module
 */

import { concatBytes } from "../model/byte_chunks.ts";

/** One request. */
export interface UnixHttpRequest {
  method: string;
  /** Path and query, e.g. `/v1/domains?active=true`. */
  target: string;
  headers?: Record<string, string>;
  body?: string;
  /** A body sent as it is read (uploads): with `bodyLength` framed by it, else chunked. */
  bodyStream?: ReadableStream<Uint8Array>;
  /** The bytes `bodyStream` carries, when known. */
  bodyLength?: number;
  signal?: AbortSignal;
}

/** One answer: what `EvirtClient` reads of a `Response`. */
export interface UnixHttpResponse {
  readonly status: number;
  readonly ok: boolean;
  /** A header's value (names are case-insensitive), or null. */
  header(name: string): string | null;
  /** The body as a stream (built on first use); null for an answer without one. */
  readonly body: ReadableStream<Uint8Array> | null;
  /** The whole body as text. */
  text(): Promise<string>;
  /** The whole body parsed as JSON. */
  json(): Promise<unknown>;
}

/** Largest response head (status line and headers) accepted, in bytes. */
export const HEAD_MAX_BYTES = 64 * 1024;

/** Largest body `text()` and `json()` gather, in bytes. */
export const TEXT_MAX_BYTES = 256 * 1024 * 1024;

/** Largest single chunk of a chunked body accepted, in bytes. */
export const CHUNK_MAX_BYTES = 16 * 1024 * 1024;

/** Bytes read from the socket at once. */
const READ_BYTES = 64 * 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A malformed or oversized answer. */
export class UnixHttpError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnixHttpError";
  }
}

/**
 * Sends one request over the unix socket at `path` and reads the answer's head.
 *
 * @throws {Deno.errors.NotFound} (or another connect error) when nothing listens there.
 * @throws {UnixHttpError} When the answer is not HTTP/1.x or its head is too large.
 *
 * @example
 * ```ts ignore
 * const response = await unixHttpRequest("/run/evirt/evirt.sock", { method: "GET", target: "/v1/version" });
 * console.log(response.status, await response.json());
 * ```
 */
export async function unixHttpRequest(
  path: string,
  request: UnixHttpRequest,
): Promise<UnixHttpResponse> {
  request.signal?.throwIfAborted();
  const conn = await Deno.connect({ transport: "unix", path });
  const onAbort = () => closeQuietly(conn);
  request.signal?.addEventListener("abort", onAbort, { once: true });
  const release = () => {
    request.signal?.removeEventListener("abort", onAbort);
    closeQuietly(conn);
  };
  try {
    await writeAll(conn, encodeRequest(request));
    if (request.bodyStream !== undefined) {
      await writeBodyStream(conn, request.bodyStream, request.bodyLength === undefined);
    }
    const reader = new ConnReader(conn);
    const head = await readHead(reader);
    const chunks = bodyChunks(reader, head, request.method === "HEAD");
    return new Answer(head, chunks, release);
  } catch (error) {
    release();
    if (request.signal?.aborted) throw request.signal.reason;
    throw error;
  }
}

function encodeRequest(request: UnixHttpRequest): Uint8Array {
  const body = request.body === undefined ? undefined : encoder.encode(request.body);
  let head = `${request.method} ${request.target} HTTP/1.1\r\nhost: evirt\r\nconnection: close\r\n`;
  for (const [name, value] of Object.entries(request.headers ?? {})) {
    if (/[\r\n]/.test(name) || /[\r\n]/.test(value)) {
      throw new TypeError(`Header ${name} contains a line break`);
    }
    head += `${name}: ${value}\r\n`;
  }
  if (body !== undefined) head += `content-length: ${body.length}\r\n`;
  else if (request.bodyStream !== undefined) {
    head += request.bodyLength === undefined
      ? "transfer-encoding: chunked\r\n"
      : `content-length: ${request.bodyLength}\r\n`;
  }
  const headBytes = encoder.encode(`${head}\r\n`);
  if (body === undefined) return headBytes;
  const bytes = new Uint8Array(headBytes.length + body.length);
  bytes.set(headBytes);
  bytes.set(body, headBytes.length);
  return bytes;
}

/**
 * Sends a streamed body, chunk by chunk as it is read. A service that answers before the end
 * (a refusal) closes its side: the write then fails, and its answer is read all the same.
 */
async function writeBodyStream(
  conn: Deno.Conn,
  body: ReadableStream<Uint8Array>,
  chunked: boolean,
): Promise<void> {
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (value.byteLength === 0) continue;
      if (chunked) await writeAll(conn, encoder.encode(`${value.byteLength.toString(16)}\r\n`));
      await writeAll(conn, value);
      if (chunked) await writeAll(conn, encoder.encode("\r\n"));
    }
    if (chunked) await writeAll(conn, encoder.encode("0\r\n\r\n"));
  } catch (error) {
    if (
      !(error instanceof Deno.errors.BrokenPipe || error instanceof Deno.errors.ConnectionReset)
    ) {
      throw error;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let rest = bytes;
  while (rest.length > 0) rest = rest.subarray(await conn.write(rest));
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}

/** Buffered reads from the connection. */
class ConnReader {
  readonly #conn: Deno.Conn;
  #buffer: Uint8Array = new Uint8Array(0);

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  get buffered(): number {
    return this.#buffer.length;
  }

  /** Reads more into the buffer; false at the end of the connection. */
  async fill(): Promise<boolean> {
    const chunk = new Uint8Array(READ_BYTES);
    const count = await this.#conn.read(chunk);
    if (count === null) return false;
    if (this.#buffer.length === 0) {
      // Nothing left over (a body streaming through): the read itself is the buffer, uncopied.
      this.#buffer = chunk.subarray(0, count);
      return true;
    }
    const next = new Uint8Array(this.#buffer.length + count);
    next.set(this.#buffer);
    next.set(chunk.subarray(0, count), this.#buffer.length);
    this.#buffer = next;
    return true;
  }

  /** The index of `\r\n` at or after `from` in the buffer, or -1. */
  lineEnd(from = 0): number {
    for (let index = from; index + 1 < this.#buffer.length; index++) {
      if (this.#buffer[index] === 13 && this.#buffer[index + 1] === 10) return index;
    }
    return -1;
  }

  /** Takes `count` buffered bytes. */
  take(count: number): Uint8Array {
    const taken = this.#buffer.subarray(0, count);
    this.#buffer = this.#buffer.subarray(count);
    return taken;
  }

  /** Reads one line (without its `\r\n`), at most `maxBytes` long. */
  async line(maxBytes: number): Promise<string> {
    let end = this.lineEnd();
    while (end === -1) {
      if (this.#buffer.length > maxBytes) throw new UnixHttpError("line too long in the answer");
      if (!(await this.fill())) throw new UnixHttpError("the answer ended in the middle of a line");
      end = this.lineEnd();
    }
    const line = decoder.decode(this.take(end));
    this.take(2);
    return line;
  }
}

interface Head {
  status: number;
  headers: Map<string, string>;
}

async function readHead(reader: ConnReader): Promise<Head> {
  const statusLine = await reader.line(HEAD_MAX_BYTES);
  const match = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(statusLine);
  if (match === null) throw new UnixHttpError(`not an HTTP answer: '${statusLine.slice(0, 80)}'`);
  const headers = new Map<string, string>();
  let headBytes = statusLine.length;
  for (;;) {
    const line = await reader.line(HEAD_MAX_BYTES - headBytes);
    headBytes += line.length + 2;
    if (headBytes > HEAD_MAX_BYTES) throw new UnixHttpError("the answer's head is too large");
    if (line === "") break;
    const colon = line.indexOf(":");
    if (colon <= 0) throw new UnixHttpError(`malformed header line: '${line.slice(0, 80)}'`);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value);
  }
  return { status: Number(match[1]), headers };
}

/** The body's bytes, as they arrive, framed as the head says. */
async function* bodyChunks(
  reader: ConnReader,
  head: Head,
  headRequest: boolean,
): AsyncGenerator<Uint8Array> {
  if (headRequest || head.status === 204 || head.status === 304 || head.status < 200) return;
  const coding = head.headers.get("transfer-encoding")?.toLowerCase();
  if (coding !== undefined && coding.split(",").map((each) => each.trim()).includes("chunked")) {
    yield* chunked(reader);
    return;
  }
  const length = head.headers.get("content-length");
  if (length !== undefined) {
    if (!/^\d+$/.test(length)) throw new UnixHttpError(`bad content-length '${length}'`);
    let remaining = Number(length);
    while (remaining > 0) {
      if (reader.buffered === 0 && !(await reader.fill())) {
        throw new UnixHttpError("the answer ended before its content-length");
      }
      const taken = reader.take(Math.min(remaining, reader.buffered));
      remaining -= taken.length;
      yield taken;
    }
    return;
  }
  for (;;) {
    if (reader.buffered > 0) yield reader.take(reader.buffered);
    if (!(await reader.fill())) return;
  }
}

async function* chunked(reader: ConnReader): AsyncGenerator<Uint8Array> {
  for (;;) {
    const sizeLine = await reader.line(1024);
    const size = Number.parseInt(sizeLine.split(";")[0].trim(), 16);
    if (!Number.isFinite(size) || size < 0 || !/^[0-9a-fA-F]+/.test(sizeLine.trim())) {
      throw new UnixHttpError(`bad chunk size '${sizeLine.slice(0, 40)}'`);
    }
    if (size > CHUNK_MAX_BYTES) throw new UnixHttpError(`chunk of ${size} bytes is too large`);
    if (size === 0) {
      // Trailers, then the empty line that ends the body.
      while ((await reader.line(HEAD_MAX_BYTES)) !== "");
      return;
    }
    let remaining = size;
    while (remaining > 0) {
      if (reader.buffered === 0 && !(await reader.fill())) {
        throw new UnixHttpError("the answer ended in the middle of a chunk");
      }
      const taken = reader.take(Math.min(remaining, reader.buffered));
      remaining -= taken.length;
      yield taken;
    }
    if ((await reader.line(2)) !== "") throw new UnixHttpError("a chunk does not end with CRLF");
  }
}

class Answer implements UnixHttpResponse {
  readonly status: number;
  readonly #head: Head;
  readonly #chunks: AsyncGenerator<Uint8Array>;
  readonly #release: () => void;
  #body: ReadableStream<Uint8Array> | null | undefined;
  #consumed = false;

  constructor(head: Head, chunks: AsyncGenerator<Uint8Array>, release: () => void) {
    this.status = head.status;
    this.#head = head;
    this.#chunks = chunks;
    this.#release = release;
  }

  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  header(name: string): string | null {
    return this.#head.headers.get(name.toLowerCase()) ?? null;
  }

  get body(): ReadableStream<Uint8Array> | null {
    if (this.#body !== undefined) return this.#body;
    this.#claim();
    const chunks = this.#chunks;
    const release = this.#release;
    this.#body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const { done, value } = await chunks.next();
          if (done) {
            release();
            controller.close();
          } else {
            controller.enqueue(value);
          }
        } catch (error) {
          release();
          controller.error(error);
        }
      },
      cancel() {
        release();
      },
    });
    return this.#body;
  }

  async text(): Promise<string> {
    this.#claim();
    const parts: Uint8Array[] = [];
    let total = 0;
    try {
      for await (const chunk of this.#chunks) {
        total += chunk.length;
        if (total > TEXT_MAX_BYTES) {
          throw new UnixHttpError(`the answer's body is larger than ${TEXT_MAX_BYTES} bytes`);
        }
        parts.push(chunk.slice());
      }
    } finally {
      this.#release();
    }
    return decoder.decode(concatBytes(parts, total));
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }

  #claim(): void {
    if (this.#consumed) throw new TypeError("The body was already read");
    this.#consumed = true;
  }
}
