/**
 * Reading a domain document (XML, or evirt's JSON model) from a file for `define` and `create`,
 * bounded by the XML size limit so a wrong path (a disk image, `/dev/zero`) is refused quickly.
 *
 * @module
 */

import { systemReason as fileErrorReason } from "../storage/save_image.ts";
import type { DomainDefinition } from "../model/domain.ts";
import { ErrorCode, VirtError } from "../model/errors.ts";
import { CommandFailure } from "./command_failure.ts";
import { concatBytes } from "../model/byte_chunks.ts";

/** Bytes read per chunk. */
const READ_CHUNK_BYTES = 64 * 1024;

/**
 * Reads `path` as a domain document: domain XML, or the JSON model when it starts with `{`.
 *
 * @param path The file.
 * @param maxBytes The largest document accepted.
 * @returns What to send to the API.
 * @throws {CommandFailure} `Failed to open file '…': …` or `Failed to read file '…': …`.
 *
 * @example
 * ```ts ignore
 * const document = await readDomainDocument("web.xml", 4 * 1024 * 1024);
 * await client.define(document);
 * ```
 */
export async function readDomainDocument(
  path: string,
  maxBytes: number,
): Promise<{ xml: string } | { definition: DomainDefinition }> {
  const text = await readBoundedText(path, maxBytes);
  if (!text.trimStart().startsWith("{")) return { xml: text };
  try {
    return { definition: JSON.parse(text) as DomainDefinition };
  } catch (error) {
    throw new CommandFailure(
      `Failed to read file '${path}'`,
      new VirtError(ErrorCode.INVALID_ARG, `malformed JSON: ${(error as Error).message}`),
    );
  }
}

/** Reads `path` as text, refusing it past `maxBytes` (`Failed to open/read file …`). */
export async function readBoundedText(path: string, maxBytes: number): Promise<string> {
  const bytes = await readBoundedBytes(
    path,
    maxBytes,
    `larger than the limit of ${maxBytes} bytes (EVIRT_XML_MAX_BYTES)`,
  );
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (error) {
    throw new CommandFailure(`Failed to read file '${path}': ${systemReason(error)}`);
  }
}

/**
 * Reads `path`'s bytes, refusing it past `maxBytes` with `Failed to read file '…': TOO_LARGE`
 * (libvirt's `virFileReadAll`, as `secret-set-value --file` reads: its EOVERFLOW text).
 *
 * @example
 * ```ts ignore
 * const value = await readBoundedBytes("key.bin", 1024, "Value too large for defined data type");
 * ```
 */
export async function readBoundedBytes(
  path: string,
  maxBytes: number,
  tooLarge: string,
): Promise<Uint8Array> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    throw new CommandFailure(`Failed to open file '${path}': ${systemReason(error)}`);
  }
  try {
    const chunks: Uint8Array[] = [];
    let total = 0;
    const buffer = new Uint8Array(READ_CHUNK_BYTES);
    for (;;) {
      const count = await file.read(buffer);
      if (count === null) break;
      total += count;
      if (total > maxBytes) throw new CommandFailure(`Failed to read file '${path}': ${tooLarge}`);
      chunks.push(buffer.slice(0, count));
    }
    return concatBytes(chunks, total);
  } catch (error) {
    if (error instanceof CommandFailure) throw error;
    throw new CommandFailure(`Failed to read file '${path}': ${systemReason(error)}`);
  } finally {
    file.close();
  }
}

function systemReason(error: unknown): string {
  if (error instanceof TypeError) return "not valid UTF-8 text";
  return fileErrorReason(error);
}
