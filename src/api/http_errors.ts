/**
 * How errors leave the API: JSON `{error: {code, name, message, detail, where?}}` with the libvirt
 * error number, and an HTTP status that fits it.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";

const STATUS_BY_CODE: ReadonlyMap<number, number> = new Map([
  [ErrorCode.INVALID_ARG, 400],
  [ErrorCode.NO_NAME, 400],
  [ErrorCode.XML_ERROR, 400],
  [ErrorCode.XML_DETAIL, 400],
  [ErrorCode.CONFIG_UNSUPPORTED, 400],
  [ErrorCode.ARGUMENT_UNSUPPORTED, 400],
  [ErrorCode.XML_INVALID_SCHEMA, 400],
  [ErrorCode.AUTH_FAILED, 401],
  [ErrorCode.OPERATION_DENIED, 403],
  [ErrorCode.ACCESS_DENIED, 403],
  [ErrorCode.INVALID_SECRET, 403],
  [ErrorCode.NO_DOMAIN, 404],
  [ErrorCode.NO_NETWORK, 404],
  [ErrorCode.NO_NETWORK_PORT, 404],
  [ErrorCode.NO_SECRET, 404],
  [ErrorCode.NETWORK_PORT_EXIST, 409],
  [ErrorCode.NO_STORAGE_POOL, 404],
  [ErrorCode.NO_STORAGE_VOL, 404],
  [ErrorCode.DEVICE_MISSING, 404],
  [ErrorCode.NO_DOMAIN_METADATA, 404],
  [ErrorCode.NO_DOMAIN_SNAPSHOT, 404],
  [ErrorCode.SNAPSHOT_REVERT_RISKY, 409],
  [ErrorCode.OPERATION_INVALID, 409],
  [ErrorCode.OPERATION_FAILED, 409],
  [ErrorCode.DOM_EXIST, 409],
  [ErrorCode.NO_SUPPORT, 501],
  [ErrorCode.OPERATION_UNSUPPORTED, 501],
  [ErrorCode.RESOURCE_BUSY, 503],
  [ErrorCode.OPERATION_TIMEOUT, 504],
]);

/** The HTTP status for a libvirt error code (500 for the rest). */
export function statusOf(code: number): number {
  return STATUS_BY_CODE.get(code) ?? 500;
}

/**
 * A JSON error response for `error`; anything that is not a {@linkcode VirtError} becomes an
 * internal error (code 1) whose message is kept.
 *
 * @example
 * ```ts
 * import { errorResponse } from "./http_errors.ts";
 * import { VirtError } from "../model/errors.ts";
 * const response = errorResponse(new VirtError(42, "no domain with matching name 'x'"));
 * console.log(response.status); // 404
 * ```
 */
export function errorResponse(error: unknown, headers: HeadersInit = {}): Response {
  const virtError = error instanceof VirtError
    ? error
    : new VirtError(ErrorCode.INTERNAL_ERROR, (error as Error)?.message ?? String(error));
  const extra = new Headers(headers);
  extra.set("content-type", "application/json");
  if (virtError.code === ErrorCode.RESOURCE_BUSY) extra.set("retry-after", "1");
  // An error at an element path is about the request's document, whatever its code: libvirt
  // reports some such as system errors (a domain name no file can carry is code 38).
  const inDocument = virtError.where?.startsWith("/") === true;
  const status = statusOf(virtError.code);
  return new Response(JSON.stringify({ error: virtError.toJSON() }) + "\n", {
    status: virtError.stateConflict ? 409 : inDocument && status === 500 ? 400 : status,
    headers: extra,
  });
}

/** A JSON success response. */
export function jsonResponse(body: unknown, status = 200, headers: HeadersInit = {}): Response {
  const extra = new Headers(headers);
  extra.set("content-type", "application/json");
  return new Response(JSON.stringify(body) + "\n", { status, headers: extra });
}
