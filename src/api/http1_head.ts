/**
 * The head of an HTTP/1.1 request (request line and header fields), read strictly and within a
 * byte limit. Anything malformed or too long becomes a {@linkcode VirtError} with code 8 and the
 * part at fault, answered before any handler runs.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";

/** A parsed request head. */
export interface RequestHead {
  method: string;
  /** The request target as sent: origin form (`/v1/x`) or absolute form (`http://h/v1/x`). */
  target: string;
  /** `HTTP/1.1` or `HTTP/1.0`. */
  version: string;
  /** Header fields in order, names in lower case. */
  fields: [string, string][];
}

/** A refused head: the HTTP status to answer and the error. */
export class RequestHeadError extends VirtError {
  /** The HTTP status (400, 414, 431, 505). */
  readonly status: number;

  /**
   * @param status The HTTP status.
   * @param message What is wrong.
   * @param where The part at fault (`url`, `headers`, …).
   */
  constructor(status: number, message: string, where: string) {
    super(ErrorCode.INVALID_ARG, message, { where });
    this.name = "RequestHeadError";
    this.status = status;
  }
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const FIELD_VALUE = /^[\t\u0020-\u007e\u0080-\u00ff]*$/;
const CRLF_CRLF = [13, 10, 13, 10];

/**
 * Where the head in `buffer` ends (the index after its blank line), or -1 when it is not complete
 * yet. Bytes before `from` were already searched.
 */
export function headEnd(buffer: Uint8Array, length: number, from = 0): number {
  for (let index = Math.max(0, from - 3); index + 3 < length; index++) {
    if (
      buffer[index] === CRLF_CRLF[0] && buffer[index + 1] === CRLF_CRLF[1] &&
      buffer[index + 2] === CRLF_CRLF[2] && buffer[index + 3] === CRLF_CRLF[3]
    ) {
      return index + 4;
    }
  }
  return -1;
}

/**
 * The error for a head that reached `headMaxBytes` without ending: 414 when the request line
 * alone is that long, else 431.
 */
export function headTooLarge(buffer: Uint8Array, length: number, headMaxBytes: number): VirtError {
  const lineEnd = buffer.subarray(0, length).indexOf(10);
  if (lineEnd === -1) {
    return new RequestHeadError(
      414,
      `request line is longer than the limit of ${headMaxBytes} bytes`,
      "url",
    );
  }
  return new RequestHeadError(
    431,
    `request headers are larger than the limit of ${headMaxBytes} bytes`,
    "headers",
  );
}

/**
 * Parses a complete head (without its final blank line).
 *
 * @throws {RequestHeadError} When the request line or a field is malformed.
 * @example
 * ```ts
 * import { parseRequestHead } from "./http1_head.ts";
 * const head = parseRequestHead(new TextEncoder().encode("GET /v1/version HTTP/1.1\r\nHost: x"));
 * console.log(head.method, head.target, head.fields); // GET /v1/version [["host", "x"]]
 * ```
 */
export function parseRequestHead(bytes: Uint8Array): RequestHead {
  // latin1 keeps every byte as one code unit, so no input can fail to decode.
  const text = new TextDecoder("latin1").decode(bytes);
  const lines = text.split("\r\n");
  const requestLine = lines[0];
  const parts = requestLine.split(" ");
  if (parts.length !== 3 || !TOKEN.test(parts[0]) || parts[1] === "") {
    throw new RequestHeadError(400, "malformed request line", "url");
  }
  const [method, target, version] = parts;
  if (version !== "HTTP/1.1" && version !== "HTTP/1.0") {
    throw new RequestHeadError(505, `unsupported protocol version '${version}'`, "url");
  }
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u0020\u007f-\u00ff]/.test(target)) {
    throw new RequestHeadError(400, "request target contains invalid characters", "url");
  }
  const fields: [string, string][] = [];
  for (let index = 1; index < lines.length; index++) {
    const line = lines[index];
    const colon = line.indexOf(":");
    const name = colon > 0 ? line.slice(0, colon) : "";
    if (!TOKEN.test(name)) {
      throw new RequestHeadError(400, `malformed header field on line ${index + 1}`, "headers");
    }
    const value = line.slice(colon + 1).trim();
    if (!FIELD_VALUE.test(value)) {
      throw new RequestHeadError(400, `invalid characters in header '${name}'`, "headers");
    }
    fields.push([name.toLowerCase(), value]);
  }
  return { method, target, version, fields };
}
