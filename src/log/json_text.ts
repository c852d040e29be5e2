/**
 * Turning a caller's value into JSON text that reads back as the same value, refusing whatever
 * `JSON.stringify` would silently change (undefined, NaN, class instances, cycles).
 *
 * @module
 */

import { EventStoreArgumentError } from "./errors.ts";
import { JSON_DEPTH_MAX, type JsonValue } from "./event_store.ts";

const encoder = new TextEncoder();

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
  checkJsonValue(value, where, 0);
  const text = JSON.stringify(value);
  // UTF-8 needs at most 3 bytes per UTF-16 unit, so short texts skip the exact count.
  if (text.length * 3 > maxBytes && utf8Length(text) > maxBytes) {
    throw new EventStoreArgumentError(
      where,
      `${where} is too large: ${utf8Length(text)} bytes of JSON, at most ${maxBytes} allowed`,
    );
  }
  return text;
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

function checkJsonValue(value: unknown, where: string, depth: number): asserts value is JsonValue {
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
      checkJsonValue(value[index], `${where}[${index}]`, depth + 1);
    }
    return;
  }
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) {
    const name = (value as object).constructor?.name ?? "unknown";
    throw invalid(where, `${where} is not JSON data: found an instance of ${name}`);
  }
  for (const key in value) {
    checkJsonValue((value as Record<string, unknown>)[key], `${where}.${key}`, depth + 1);
  }
}

function invalid(where: string, message: string): EventStoreArgumentError {
  return new EventStoreArgumentError(where, message);
}
