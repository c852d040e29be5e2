/**
 * Reading request bodies with a size limit, and turning them into domain definitions.
 *
 * @module
 */

import type { DomainDefinition } from "../model/domain.ts";
import { ErrorCode, VirtError } from "../model/errors.ts";
import { type DefinitionReaderPool, readDefinition } from "./definition_reader.ts";
import { bodyText, type DefinitionReadOptions } from "./definition_text.ts";
import { concatBytes } from "../model/byte_chunks.ts";

/**
 * Reads the whole body as bytes, refusing more than `maxBytes` (code 8) without reading further.
 * The bytes own their whole buffer, so they can be transferred to a worker thread.
 *
 * @example
 * ```ts
 * import { readBodyBytes } from "./request_body.ts";
 * const bytes = await readBodyBytes(new Request("http://x/", { method: "POST", body: "hi" }), 10);
 * console.log(bytes.length); // 2
 * ```
 */
export async function readBodyBytes(request: Request, maxBytes: number): Promise<Uint8Array> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) {
    throw tooLarge(maxBytes);
  }
  if (request.body === null) return new Uint8Array();
  const reader = request.body.getReader();
  // A declared length gets its buffer at once and each piece is copied in as it arrives, so a
  // large body is held once, not as pieces and again joined.
  const length = declared === null ? Number.NaN : Number(declared);
  const whole = Number.isSafeInteger(length) && length > 0 ? new Uint8Array(length) : undefined;
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (total + value.byteLength > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge(maxBytes);
    }
    if (whole !== undefined && total + value.byteLength <= whole.byteLength) {
      whole.set(value, total);
    } else {
      // No length declared, or more bytes than it said: joined at the end.
      if (whole !== undefined && chunks.length === 0) chunks.push(whole.subarray(0, total));
      chunks.push(value);
    }
    total += value.byteLength;
  }
  if (whole !== undefined && chunks.length === 0 && total === whole.byteLength) return whole;
  // Always joined into a buffer of its own, even from one chunk (which may be a view into the
  // connection's buffer): the caller may move it to a worker thread.
  if (whole !== undefined && chunks.length === 0) chunks.push(whole.subarray(0, total));
  return concatBytes(chunks, total);
}

/**
 * Reads the whole body as text, refusing more than `maxBytes` (code 8) without reading further.
 *
 * @example
 * ```ts
 * import { readBodyText } from "./request_body.ts";
 * const text = await readBodyText(new Request("http://x/", { method: "POST", body: "hi" }), 10);
 * console.log(text); // "hi"
 * ```
 */
export async function readBodyText(request: Request, maxBytes: number): Promise<string> {
  return bodyText(await readBodyBytes(request, maxBytes));
}

function tooLarge(maxBytes: number): VirtError {
  return new VirtError(
    ErrorCode.INVALID_ARG,
    `request body is larger than the limit of ${maxBytes} bytes`,
    { where: "body" },
  );
}

/** Reads a JSON body (an object), refusing malformed JSON with code 8 and where it failed. */
export async function readJsonObject(
  request: Request,
  maxBytes: number,
): Promise<Record<string, unknown>> {
  const text = await readBodyText(request, maxBytes);
  if (text.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new VirtError(ErrorCode.INVALID_ARG, `malformed JSON body: ${(error as Error).message}`, {
      where: "body",
    });
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new VirtError(ErrorCode.INVALID_ARG, "JSON body must be an object", { where: "body" });
  }
  return value as Record<string, unknown>;
}

/**
 * Reads a define or create request's body and turns it into a definition as
 * `definitionFromText` (definition_text.ts) does; a large body on the `reader` pool's worker
 * threads, so it never stalls other callers.
 */
export async function definitionFromRequest(
  request: Request,
  options: DefinitionReadOptions & { reader?: DefinitionReaderPool },
): Promise<DomainDefinition> {
  const bytes = await readBodyBytes(request, options.maxBytes);
  const contentType = request.headers.get("content-type") ?? "";
  return await readDefinition(bytes, contentType, options, options.reader);
}
