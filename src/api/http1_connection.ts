/**
 * HTTP/1.1 on one accepted connection, for evirt's own accept loops (`Deno.serve` cannot bound
 * connections, time out half-sent requests, or close a connection on demand).
 *
 * Every wait has a deadline: the first request head must arrive within the header timeout from
 * accept; between requests the connection may idle for the idle timeout, then the next head has
 * the header timeout; each read of a body and each write of a response must make progress within
 * the idle timeout. A client that ends its side while a response streams cancels it at once. A
 * refused head is answered with libvirt's error JSON (code 8, where it failed) before the
 * connection closes.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";
import type { ConnectionLimits } from "./connection_limits.ts";
import { ConnectionReader, ReadTimeoutError } from "./connection_reader.ts";
import { errorResponse } from "./http_errors.ts";
import { headEnd, headTooLarge, parseRequestHead, type RequestHead } from "./http1_head.ts";
import { requestBody } from "./http1_body.ts";
import { watchDeadline } from "./deadline_sweeper.ts";
import { acceptKey, WebSocketConnection, type WebSocketOptions } from "./websocket_connection.ts";

/** What a handler may do to the connection its request came on. */
export interface ConnectionHandle {
  /** Cuts the connection at once (unsent bytes are dropped). */
  close(): void;
  /**
   * Accepts the request's WebSocket upgrade: the 101 answer is written once the handler returns
   * the response given here, and the socket then opens.
   *
   * @param options The socket's bounds (how long a write may stall before the peer is cut).
   * @throws {VirtError} Code 8 when the request is not a valid upgrade.
   */
  upgradeWebSocket(
    request: Request,
    options?: WebSocketOptions,
  ): { socket: WebSocketConnection; response: Response };
}

/** Answers one request that came on `connection`. */
export type ConnectionHandler = (
  request: Request,
  connection: ConnectionHandle,
) => Promise<Response>;

/** Options of {@linkcode serveConnection}. */
export interface ServeConnectionOptions {
  limits: ConnectionLimits;
  /** The base of origin-form targets (`http://evirt`). */
  origin: string;
  /** Aborted when the service stops: an idle connection closes, a busy one after its answer. */
  stopping: AbortSignal;
}

const encoder = new TextEncoder();

/**
 * Serves requests on `conn` until either side ends it or a limit is hit; never throws.
 *
 * @example
 * ```ts ignore
 * await serveConnection(conn, (request) => api.handle(request, "read-only"), options);
 * ```
 */
export async function serveConnection(
  conn: Deno.Conn,
  handler: ConnectionHandler,
  options: ServeConnectionOptions,
): Promise<void> {
  const { limits } = options;
  const reader = new ConnectionReader(conn);
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    try {
      conn.close();
    } catch {
      // already closed
    }
  };
  const onStopping = () => {
    if (idle) close();
  };
  options.stopping.addEventListener("abort", onStopping);
  let idle = true;
  let first = true;
  try {
    while (!closed && !options.stopping.aborted) {
      idle = true;
      const head = await readHead(reader, limits, first, conn);
      idle = false;
      first = false;
      if (head === undefined) break;
      const keepOpen = await serveRequest(conn, reader, head, handler, options, close);
      if (!keepOpen) break;
    }
  } catch {
    // A failed write or a protocol error ends the connection; the client sees it closed.
  } finally {
    options.stopping.removeEventListener("abort", onStopping);
    close();
  }
}

/** The next request head, or undefined when the connection should end (answering any error). */
async function readHead(
  reader: ConnectionReader,
  limits: ConnectionLimits,
  first: boolean,
  conn: Deno.Conn,
): Promise<RequestHead | undefined> {
  let deadlineMs = Date.now() + (first ? limits.headerTimeoutMs : limits.idleTimeoutMs);
  let started = reader.available.length > 0;
  if (started) deadlineMs = Date.now() + limits.headerTimeoutMs;
  let searched = 0;
  for (;;) {
    const available = reader.available;
    const end = headEnd(available, Math.min(available.length, limits.headMaxBytes), searched);
    if (end !== -1) {
      const bytes = available.slice(0, end - 4);
      reader.consume(end);
      try {
        return parseRequestHead(bytes);
      } catch (error) {
        await answerAndClose(conn, error);
        return undefined;
      }
    }
    if (available.length >= limits.headMaxBytes) {
      await answerAndClose(conn, headTooLarge(available, available.length, limits.headMaxBytes));
      return undefined;
    }
    searched = available.length;
    try {
      if (!await reader.fill(deadlineMs)) return undefined;
    } catch (error) {
      if (!(error instanceof ReadTimeoutError)) throw error;
      if (started) {
        await answerAndClose(
          conn,
          new VirtError(
            ErrorCode.OPERATION_TIMEOUT,
            `request head not received within ${limits.headerTimeoutMs} ms`,
          ),
          408,
        );
      }
      return undefined;
    }
    if (!started) {
      started = true;
      // A first request's head is due within the header timeout of the accept; a later one's
      // within the header timeout of its first byte.
      if (!first) deadlineMs = Date.now() + limits.headerTimeoutMs;
    }
  }
}

/** Serves one request; true when the connection may carry another. */
async function serveRequest(
  conn: Deno.Conn,
  reader: ConnectionReader,
  head: RequestHead,
  handler: ConnectionHandler,
  options: ServeConnectionOptions,
  close: () => void,
): Promise<boolean> {
  const { limits } = options;
  const headers = new Headers();
  try {
    for (const [name, value] of head.fields) headers.append(name, value);
  } catch {
    await answerAndClose(conn, new VirtError(ErrorCode.INVALID_ARG, "invalid header field"));
    return false;
  }
  const aborter = new AbortController();
  let body: ReturnType<typeof requestBody>;
  let url: URL;
  try {
    url = /^https?:\/\//i.test(head.target)
      ? new URL(head.target)
      : new URL(head.target, options.origin);
    if (!head.target.startsWith("/") && !/^https?:\/\//i.test(head.target)) throw new TypeError();
    body = requestBody(head.method, headers, reader, limits.idleTimeoutMs, async () => {
      await writeAll(conn, encoder.encode("HTTP/1.1 100 Continue\r\n\r\n"), limits.idleTimeoutMs);
    });
  } catch (error) {
    await answerAndClose(
      conn,
      error instanceof VirtError
        ? error
        : new VirtError(ErrorCode.INVALID_ARG, "malformed request target", { where: "url" }),
    );
    return false;
  }
  let upgrade: WebSocketConnection | undefined;
  let upgradeAccept: string | undefined;
  let upgradeProtocol = "";
  const handle: ConnectionHandle = {
    close: () => {
      aborter.abort();
      close();
    },
    upgradeWebSocket(request, options) {
      const key = request.headers.get("sec-websocket-key") ?? "";
      const upgradeHeader = (request.headers.get("upgrade") ?? "").toLowerCase();
      if (upgradeHeader !== "websocket" || !/^[A-Za-z0-9+/]{22}==$/.test(key)) {
        throw new VirtError(ErrorCode.INVALID_ARG, "not a valid WebSocket upgrade request", {
          where: "headers",
        });
      }
      if (options?.protocol !== undefined) {
        if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(options.protocol)) {
          throw new RangeError(`not a WebSocket subprotocol token: '${options.protocol}'`);
        }
        upgradeProtocol = `sec-websocket-protocol: ${options.protocol}\r\n`;
      }
      upgradeAccept = acceptKey(key);
      upgrade = new WebSocketConnection(conn, options);
      return { socket: upgrade, response: new Response(null, { status: 200 }) };
    },
  };
  let request: Request;
  try {
    request = new Request(url, {
      method: head.method,
      headers,
      signal: aborter.signal,
      ...(body.stream === null ? {} : { body: body.stream, duplex: "half" }),
    } as RequestInit);
  } catch {
    // The platform refuses some methods outright (CONNECT, TRACE, TRACK).
    await answerAndClose(
      conn,
      new VirtError(ErrorCode.INVALID_ARG, `unsupported method '${head.method}'`, {
        where: "method",
      }),
    );
    return false;
  }
  let response: Response;
  try {
    response = await handler(request, handle);
  } catch (error) {
    response = errorResponse(error);
  }
  if (upgrade !== undefined && upgradeAccept !== undefined) {
    await writeAll(
      conn,
      encoder.encode(
        "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n" +
          `sec-websocket-accept: ${upgradeAccept}\r\n${upgradeProtocol}\r\n`,
      ),
      limits.idleTimeoutMs,
    );
    upgrade.start(reader.take(reader.available.length));
    await upgrade.ended;
    return false;
  }
  const keepAlive = wantsKeepAlive(head, headers) && !options.stopping.aborted &&
    response.headers.get("connection") !== "close";
  const clientGone = body.complete() ? watchClient(reader, aborter) : undefined;
  await writeResponse(conn, head.method, response, keepAlive, limits.idleTimeoutMs, aborter);
  if (clientGone !== undefined) clientGone.stop();
  return keepAlive && body.complete() && !aborter.signal.aborted;
}

/** Aborts the request when the client ends its side while the answer is written. */
function watchClient(reader: ConnectionReader, aborter: AbortController): { stop(): void } {
  let stopped = false;
  reader.watchEnd().then((ended) => {
    if (ended && !stopped) aborter.abort();
  });
  return { stop: () => stopped = true };
}

function wantsKeepAlive(head: RequestHead, headers: Headers): boolean {
  const connection = (headers.get("connection") ?? "").toLowerCase();
  if (head.version === "HTTP/1.0") return connection.includes("keep-alive");
  return !connection.includes("close");
}

const STATUS_TEXT: Record<number, string> = {
  200: "OK",
  201: "Created",
  204: "No Content",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  409: "Conflict",
  410: "Gone",
  414: "URI Too Long",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
};

async function writeResponse(
  conn: Deno.Conn,
  method: string,
  response: Response,
  keepAlive: boolean,
  timeoutMs: number,
  aborter: AbortController,
): Promise<void> {
  const noBody = method === "HEAD" || response.status === 204 || response.status === 304;
  let head = `HTTP/1.1 ${response.status} ${STATUS_TEXT[response.status] ?? ""}\r\n`;
  for (const [name, value] of response.headers) {
    if (name === "content-length" || name === "transfer-encoding" || name === "connection") {
      continue;
    }
    head += `${name}: ${value}\r\n`;
  }
  if (!keepAlive) head += "connection: close\r\n";
  if (response.body === null || noBody) {
    if (response.status !== 204 && response.status !== 304) head += "content-length: 0\r\n";
    await writeAll(conn, encoder.encode(head + "\r\n"), timeoutMs);
    await response.body?.cancel().catch(() => {});
    return;
  }
  if (!isStream(response)) {
    // A finite answer goes out in one write, head and body, with its length.
    const body = new Uint8Array(await response.arrayBuffer());
    const headBytes = encoder.encode(head + `content-length: ${body.byteLength}\r\n\r\n`);
    const bytes = new Uint8Array(headBytes.byteLength + body.byteLength);
    bytes.set(headBytes);
    bytes.set(body, headBytes.byteLength);
    await writeAll(conn, bytes, timeoutMs);
    return;
  }
  await writeAll(conn, encoder.encode(head + "transfer-encoding: chunked\r\n\r\n"), timeoutMs);
  const bodyReader = response.body.getReader();
  const onAbort = () => bodyReader.cancel().catch(() => {});
  aborter.signal.addEventListener("abort", onAbort, { once: true });
  try {
    for (;;) {
      const { done, value } = await bodyReader.read();
      if (done) break;
      if (value.byteLength === 0) continue;
      if (value.byteLength < CHUNK_COPY_MAX_BYTES) {
        await writeAll(conn, chunkOf(value), timeoutMs);
      } else {
        // A large chunk (a volume's data) goes as it is between its framing: no copy of it.
        await writeAll(conn, encoder.encode(`${value.byteLength.toString(16)}\r\n`), timeoutMs);
        await writeAll(conn, value, timeoutMs);
        await writeAll(conn, CRLF, timeoutMs);
      }
    }
    await writeAll(conn, encoder.encode("0\r\n\r\n"), timeoutMs);
  } catch (error) {
    aborter.abort();
    throw error;
  } finally {
    aborter.signal.removeEventListener("abort", onAbort);
    bodyReader.cancel().catch(() => {});
  }
}

/**
 * Whether an answer is sent chunk by chunk as it is made: the event stream (until the client
 * leaves) and byte streams (a volume's content), never gathered whole in memory.
 */
function isStream(response: Response): boolean {
  const type = response.headers.get("content-type") ?? "";
  return type.startsWith("text/event-stream") || type.startsWith("application/octet-stream") ||
    type.startsWith("application/x-evirt-sparse-stream");
}

/** Chunks smaller than this go out in one write with their framing (copied); larger ones uncopied. */
const CHUNK_COPY_MAX_BYTES = 64 * 1024;

const CRLF = new Uint8Array([13, 10]);

function chunkOf(value: Uint8Array): Uint8Array {
  const prefix = encoder.encode(`${value.byteLength.toString(16)}\r\n`);
  const bytes = new Uint8Array(prefix.length + value.byteLength + 2);
  bytes.set(prefix);
  bytes.set(value, prefix.length);
  bytes.set([13, 10], prefix.length + value.byteLength);
  return bytes;
}

/**
 * Answers an error as libvirt's JSON (with {@linkcode errorResponse}'s headers) and
 * `connection: close`; best effort, bounded by `timeoutMs`. The caller closes `conn`.
 */
export async function answerAndClose(
  conn: Deno.Conn,
  error: unknown,
  status?: number,
  timeoutMs = ANSWER_TIMEOUT_MS,
): Promise<void> {
  const response = errorResponse(error);
  const code = status ?? (error as { status?: number }).status ?? response.status;
  const body = new Uint8Array(await response.arrayBuffer());
  let head = `HTTP/1.1 ${code} ${STATUS_TEXT[code] ?? ""}\r\n`;
  for (const [name, value] of response.headers) head += `${name}: ${value}\r\n`;
  head += `content-length: ${body.byteLength}\r\nconnection: close\r\n\r\n`;
  const bytes = new Uint8Array([...encoder.encode(head), ...body]);
  await writeAll(conn, bytes, timeoutMs).catch(() => {});
}

/** How long a refusal may take to write before the connection is simply closed, in ms. */
const ANSWER_TIMEOUT_MS = 1000;

/** Writes every byte or throws; a write that makes no progress for `timeoutMs` closes `conn`. */
export async function writeAll(conn: Deno.Conn, bytes: Uint8Array, timeoutMs: number) {
  let offset = 0;
  while (offset < bytes.length) {
    const cancel = watchDeadline(Date.now() + timeoutMs, () => conn.close());
    try {
      offset += await conn.write(bytes.subarray(offset));
    } finally {
      cancel();
    }
  }
}
