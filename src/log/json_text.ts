/**
 * Turning a caller's value into JSON text that reads back as the same value, refusing whatever
 * `JSON.stringify` would silently change (undefined, NaN, class instances, cycles).
 *
 * A value whose text was made already (a large definition is encoded on the worker thread that
 * read it) can be announced with {@linkcode rememberJsonText}: its next encoding, alone or as a
 * property of the body that carries it, reuses that text instead of walking and encoding the
 * value again on the service's main loop.
 *
 * @module
 */

import { crc32 } from "node:zlib";
import { EventStoreArgumentError } from "./errors.ts";
import { crc32Combine } from "./fact_checksum.ts";
import { JSON_DEPTH_MAX } from "./event_store.ts";
import { joinJsonTexts, type JsonText, jsonTextString } from "./json_pieces.ts";

const encoder = new TextEncoder();

/** A JSON text known for a value, with what its checks found. */
export interface KnownJsonText {
  /**
   * The text, as {@linkcode encodeJsonText} makes it: a string, or UTF-8 pieces (a large text
   * made on a worker thread and moved here, see json_pieces.ts).
   */
  text: JsonText;
  /** Its length in UTF-8 bytes. */
  bytes: number;
  /** The CRC-32 of its UTF-8 bytes (what the fact's checksum covers, see fact_checksum.ts). */
  crc: number;
  /** The level of its deepest array or object (the value itself is level 0; -1: none). */
  depth: number;
}

/** Texts announced and not used yet; weak, so a value never encoded costs nothing. */
const knownTexts = new WeakMap<object, KnownJsonText>();

/**
 * Checks `value` as {@linkcode encodeJsonText} does and encodes it, returning what
 * {@linkcode rememberJsonText} needs (the text, its UTF-8 length and nesting), for a thread that
 * prepares a value the main loop will append.
 *
 * @throws {EventStoreArgumentError} As {@linkcode encodeJsonText}.
 *
 * @example
 * ```ts
 * import { prepareJsonText } from "./json_text.ts";
 * console.log(prepareJsonText({ a: [1] }, "body", 1024).text); // '{"a":[1]}'
 * ```
 */
export function prepareJsonText(value: unknown, where: string, maxBytes: number): KnownJsonText {
  const depth = checkJsonValue(value, where);
  const text = JSON.stringify(value);
  // One encoding gives both the length and the checksum's input.
  const utf8 = encoder.encode(text);
  checkSize(text, where, maxBytes, utf8.length);
  return { text, bytes: utf8.length, crc: crc32(utf8), depth };
}

/**
 * Announces that `value` encodes as `known.text` (made by {@linkcode prepareJsonText}), so the
 * next {@linkcode encodeJsonText} of `value`, or of a plain object holding it as a property,
 * uses the text. Used once: later encodings walk the value again. The value must not change
 * in between (definitions and fact bodies are never changed once made).
 *
 * @example
 * ```ts
 * import { encodeJsonText, prepareJsonText, rememberJsonText } from "./json_text.ts";
 * const definition = { name: "vm" };
 * rememberJsonText(definition, prepareJsonText(definition, "definition", 1024));
 * console.log(encodeJsonText({ definition, detail: "added" }, "body", 1024));
 * // '{"definition":{"name":"vm"},"detail":"added"}'
 * ```
 */
export function rememberJsonText(value: object, known: KnownJsonText): void {
  knownTexts.set(value, known);
}

/**
 * The text announced for `value` by {@linkcode rememberJsonText} and not used yet, left in place
 * (a thread that needs the value can be sent its text instead of a clone of the value).
 *
 * @example
 * ```ts
 * import { knownJsonText, prepareJsonText, rememberJsonText } from "./json_text.ts";
 * const definition = { name: "vm" };
 * rememberJsonText(definition, prepareJsonText(definition, "definition", 1024));
 * console.log(knownJsonText(definition)?.text); // '{"name":"vm"}'
 * ```
 */
export function knownJsonText(value: object): KnownJsonText | undefined {
  return knownTexts.get(value);
}

/**
 * The text announced for `value` by {@linkcode rememberJsonText} and not used yet, taken: its
 * owner is done with the value (e.g. to release the text, see json_pieces.ts).
 *
 * @example
 * ```ts
 * import { knownJsonText, prepareJsonText, rememberJsonText, takeJsonText } from "./json_text.ts";
 * const definition = { name: "vm" };
 * rememberJsonText(definition, prepareJsonText(definition, "definition", 1024));
 * console.log(takeJsonText(definition)?.text, knownJsonText(definition)); // {"name":"vm"} undefined
 * ```
 */
export function takeJsonText(value: object): KnownJsonText | undefined {
  return takeKnown(value);
}

/**
 * Encodes `value` as JSON text after checking it is plain JSON data no larger than `maxBytes`.
 *
 * @param value The value to encode.
 * @param where The argument it came from, for the error (`facts[0].body`).
 * @param maxBytes The largest JSON text accepted, in UTF-8 bytes.
 * @returns The JSON text.
 * @throws {EventStoreArgumentError} When the value is not JSON data, nests deeper than
 *   {@linkcode JSON_DEPTH_MAX}, or its text is larger than `maxBytes`.
 *
 * @example Encoding a body
 * ```ts
 * import { encodeJsonText } from "./json_text.ts";
 * console.log(encodeJsonText({ pid: 42 }, "body", 1024)); // '{"pid":42}'
 * ```
 */
export function encodeJsonText(value: unknown, where: string, maxBytes: number): string {
  return jsonTextString(encodeJson(value, where, maxBytes).text);
}

/** JSON text as {@linkcode encodeJson} makes it. */
export interface EncodedJson {
  /** The text (pieces when a remembered text in pieces is part of it, see json_pieces.ts). */
  text: JsonText;
  /**
   * The text's UTF-8 length and CRC-32, when they came without a pass over the text (a
   * remembered text was used); absent otherwise.
   */
  known?: { bytes: number; crc: number };
}

/**
 * {@linkcode encodeJsonText}, with the text's UTF-8 length and CRC-32 when a remembered text
 * gave them, so the log's checksum of a large body needs no pass over it either.
 *
 * @throws {EventStoreArgumentError} As {@linkcode encodeJsonText}.
 *
 * @example
 * ```ts
 * import { encodeJson } from "./json_text.ts";
 * console.log(encodeJson({ pid: 42 }, "body", 1024)); // { text: '{"pid":42}' }
 * ```
 */
export function encodeJson(value: unknown, where: string, maxBytes: number): EncodedJson {
  const known = takeKnown(value) ?? composeKnown(value, where);
  if (known !== undefined) {
    checkBytes(known.bytes, where, maxBytes);
    return { text: known.text, known: { bytes: known.bytes, crc: known.crc } };
  }
  checkJsonValue(value, where);
  const text = JSON.stringify(value);
  checkSize(text, where, maxBytes);
  return { text };
}

/**
 * The length of `text` in UTF-8 bytes.
 *
 * @example
 * ```ts
 * import { utf8Length } from "./json_text.ts";
 * console.log(utf8Length("é")); // 2
 * ```
 */
export function utf8Length(text: string): number {
  let ascii = true;
  for (let index = 0; index < text.length; index++) {
    if (text.charCodeAt(index) > 0x7f) {
      ascii = false;
      break;
    }
  }
  return ascii ? text.length : encoder.encode(text).length;
}

/**
 * Checks `value` as {@linkcode encodeJsonText} does (JSON data, nesting) without encoding it;
 * returns the level of its deepest array or object (-1: none), as `KnownJsonText.depth`.
 *
 * @throws {EventStoreArgumentError} When the value is not JSON data or nests deeper than
 *   {@linkcode JSON_DEPTH_MAX}.
 */
export function checkJsonData(value: unknown, where: string): number {
  return checkJsonValue(value, where);
}

/** Refuses a text over `maxBytes` (its UTF-8 length is counted only when it could matter). */
function checkSize(text: string, where: string, maxBytes: number, knownBytes?: number): void {
  let bytes = knownBytes;
  if (bytes === undefined) {
    // UTF-8 needs at most 3 bytes per UTF-16 unit, so short texts skip the exact count.
    if (text.length * 3 <= maxBytes) return;
    bytes = utf8Length(text);
  }
  checkBytes(bytes, where, maxBytes);
}

/**
 * Refuses a text of `bytes` UTF-8 bytes when that is over `maxBytes`, as
 * {@linkcode encodeJsonText} does.
 *
 * @throws {EventStoreArgumentError} When it is larger.
 */
export function checkBytes(bytes: number, where: string, maxBytes: number): void {
  if (bytes > maxBytes) {
    throw new EventStoreArgumentError(
      where,
      `${where} is too large: ${bytes} bytes of JSON, at most ${maxBytes} allowed`,
    );
  }
}

function takeKnown(value: unknown): KnownJsonText | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const known = knownTexts.get(value);
  if (known !== undefined) knownTexts.delete(value);
  return known;
}

/**
 * The text of a plain object some of whose properties have a known text: those are spliced in,
 * the others checked and encoded; the same text `JSON.stringify` makes. Undefined when no
 * property has one.
 */
function composeKnown(value: unknown, where: string): KnownJsonText | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return undefined;
  const entries = Object.entries(value);
  if (!entries.some(([, child]) => typeof child === "object" && knownTexts.has(child!))) {
    return undefined;
  }
  // Joined by joinJsonTexts: a known text of megabytes is referenced, not copied here.
  const texts: JsonText[] = ["{"];
  let bytes = 2 + Math.max(0, entries.length - 1);
  let depth = 0;
  let crc = crc32("{");
  for (const [key, child] of entries) {
    const keyText = JSON.stringify(key);
    const head = `${texts.length === 1 ? "" : ","}${keyText}:`;
    crc = crc32(head, crc);
    const known = takeKnown(child);
    let text: JsonText;
    if (known !== undefined) {
      // One level below this object.
      if (known.depth + 1 >= JSON_DEPTH_MAX) {
        throw invalid(
          `${where}.${key}`,
          `${where}.${key} nests deeper than ${JSON_DEPTH_MAX} levels`,
        );
      }
      text = known.text;
      bytes += known.bytes;
      depth = Math.max(depth, known.depth + 1);
      crc = crc32Combine(crc, known.crc, known.bytes);
    } else {
      depth = Math.max(depth, checkJsonValue(child, `${where}.${key}`, 1));
      text = JSON.stringify(child);
      bytes += utf8Length(text);
      crc = crc32(text, crc);
    }
    texts.push(head, text);
    bytes += utf8Length(keyText) + 1;
  }
  crc = crc32("}", crc);
  texts.push("}");
  return { text: joinJsonTexts(texts), bytes, crc, depth };
}

/**
 * Checks that `value` (found at level `depth`) is JSON data; returns the level of its deepest
 * array or object (`depth - 1` when it holds none). The walk builds no strings: the path of a
 * problem is found by a second, slower walk only when there is one.
 */
function checkJsonValue(value: unknown, where: string, depth = 0): number {
  const deepest = deepestLevel(value, depth);
  if (deepest !== undefined) return deepest;
  explainJsonProblem(value, where, depth);
  throw invalid(where, `${where} is not JSON data`);
}

/** The level of the deepest array or object in `value` (found at `depth`); undefined when not JSON data. */
function deepestLevel(value: unknown, depth: number): number | undefined {
  switch (typeof value) {
    case "string":
    case "boolean":
      return depth - 1;
    case "number":
      return Number.isFinite(value) ? depth - 1 : undefined;
    case "object":
      break;
    default:
      return undefined;
  }
  if (value === null) return depth - 1;
  if (depth >= JSON_DEPTH_MAX) return undefined;
  let deepest = depth;
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) {
      if (!(index in value)) return undefined;
      const found = deepestLevel(value[index], depth + 1);
      if (found === undefined) return undefined;
      if (found > deepest) deepest = found;
    }
    return deepest;
  }
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return undefined;
  for (const key in value) {
    const found = deepestLevel((value as Record<string, unknown>)[key], depth + 1);
    if (found === undefined) return undefined;
    if (found > deepest) deepest = found;
  }
  return deepest;
}

/** Throws the error naming where `value` stops being JSON data (see `deepestLevel`). */
function explainJsonProblem(value: unknown, where: string, depth: number): void {
  switch (typeof value) {
    case "string":
    case "boolean":
      return;
    case "number":
      if (Number.isFinite(value)) return;
      throw invalid(where, `${where} is not a finite number: ${value}`);
    case "object":
      break;
    default:
      throw invalid(where, `${where} is not JSON data: found a value of type ${typeof value}`);
  }
  if (value === null) return;
  if (depth >= JSON_DEPTH_MAX) {
    throw invalid(where, `${where} nests deeper than ${JSON_DEPTH_MAX} levels`);
  }
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) {
      // A hole reads as undefined and would become null.
      if (!(index in value)) throw invalid(`${where}[${index}]`, `${where}[${index}] is missing`);
      explainJsonProblem(value[index], `${where}[${index}]`, depth + 1);
    }
    return;
  }
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) {
    const name = (value as object).constructor?.name ?? "unknown";
    throw invalid(where, `${where} is not JSON data: found an instance of ${name}`);
  }
  for (const key in value) {
    explainJsonProblem((value as Record<string, unknown>)[key], `${where}.${key}`, depth + 1);
  }
}

function invalid(where: string, message: string): EventStoreArgumentError {
  return new EventStoreArgumentError(where, message);
}
