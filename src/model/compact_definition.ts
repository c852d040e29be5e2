/**
 * Definitions kept compact in memory: a domain keeps its definitions for its whole life, and a
 * parsed definition costs at least its text in the JS heap (a 4 MiB description is a 4 MiB
 * string; 100,000 devices are 100,000 objects). {@linkcode compactDefinition} keeps every large
 * top-level part of a definition (its JSON text over {@linkcode COMPACT_PART_MIN_CHARS}
 * characters: a long description, the device lists of a huge domain) as deflated UTF-8 JSON in
 * a `Uint8Array`, behind an enumerable getter that decodes it on access. The small parts (name,
 * uuid, memory, …) stay plain properties, so lists and summaries decode nothing.
 *
 * Readers see a plain definition: property reads, spread, `Object.keys`, `JSON.stringify` and
 * structured clone all go through the getters and give the same values in the same key order.
 * Decoded parts are held in one small cache bounded by {@linkcode DECODED_CACHE_MAX_CHARS}
 * characters of JSON text (least recently used dropped first), so a burst of reads of the same
 * definition decodes it once and the cache never holds more than a few large parts. A part read
 * after it left the cache is decoded again: an equal value, not the same object (definitions are
 * never changed once made, so no reader can tell but by identity).
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { deflateRawSync, inflateRawSync } from "node:zlib";
import type { DomainDefinition } from "./domain.ts";

/** A top-level part whose JSON text is at least this many characters is kept deflated. */
export const COMPACT_PART_MIN_CHARS = 64 * 1024;

/** Decoded parts kept at once, in characters of their JSON text. */
export const DECODED_CACHE_MAX_CHARS = 16 * 1024 * 1024;

/** zlib's fastest level: definitions are compacted on the main loop. */
const DEFLATE_LEVEL = 1;

/** One deflated part: its bytes and the length of its JSON text. */
interface Part {
  bytes: Uint8Array;
  chars: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Compact forms made, by the plain definition they came from (the same plain one, the same
 * form; a definition with no large part maps to itself).
 */
const compactOf = new WeakMap<object, DomainDefinition>();

/** The parts of every compact definition, by definition. */
const partsOf = new WeakMap<object, Map<string, Part>>();

/** Decoded parts, least recently used first. */
const decoded = new Map<Part, unknown>();
let decodedChars = 0;

/**
 * `definition` with its large top-level parts kept deflated (see the module notes); the
 * definition itself when it has none, or when it is compact already. The same plain definition
 * always gives the same compact object.
 *
 * @example
 * ```ts
 * import { compactDefinition, isCompactDefinition } from "./compact_definition.ts";
 * const definition = {
 *   type: "test", name: "vm", memory: 1024, vcpu: 1, os: { type: "hvm" },
 *   description: "x".repeat(1 << 20), devices: {},
 * } as never;
 * const kept = compactDefinition(definition);
 * console.log(isCompactDefinition(kept), JSON.stringify(kept) === JSON.stringify(definition));
 * // true true
 * ```
 */
export function compactDefinition(definition: DomainDefinition): DomainDefinition {
  if (partsOf.has(definition)) return definition;
  const known = compactOf.get(definition);
  if (known !== undefined) return known;
  const source = definition as unknown as Record<string, unknown>;
  const texts = new Map<string, string>();
  for (const key of Object.keys(source)) {
    const value = source[key];
    // Only objects and strings can be large; a short string's JSON text is short too.
    if (typeof value === "string" && value.length < COMPACT_PART_MIN_CHARS) continue;
    if (typeof value !== "string" && (typeof value !== "object" || value === null)) continue;
    const text = JSON.stringify(value);
    if (text !== undefined && text.length >= COMPACT_PART_MIN_CHARS) texts.set(key, text);
  }
  if (texts.size === 0) {
    // Remembered too: the fold passes the same definition on every later fact (and at replay),
    // and would serialise its parts again only to find them small.
    compactOf.set(definition, definition);
    return definition;
  }
  const parts = new Map<string, Part>();
  const compact: Record<string, unknown> = {};
  for (const key of Object.keys(source)) {
    const text = texts.get(key);
    if (text === undefined) {
      compact[key] = source[key];
      continue;
    }
    const part: Part = {
      bytes: deflateRawSync(encoder.encode(text), { level: DEFLATE_LEVEL }),
      chars: text.length,
    };
    parts.set(key, part);
    definePart(compact, key, part);
  }
  partsOf.set(compact, parts);
  compactOf.set(definition, compact as unknown as DomainDefinition);
  return compact as unknown as DomainDefinition;
}

/** Whether `definition` was made by {@linkcode compactDefinition} with at least one deflated part. */
export function isCompactDefinition(definition: DomainDefinition): boolean {
  return partsOf.has(definition);
}

/**
 * The bytes `definition` keeps for its deflated parts (0 when it has none): what a kept
 * definition costs besides its small plain parts.
 */
export function compactBytes(definition: DomainDefinition): number {
  let bytes = 0;
  for (const part of partsOf.get(definition)?.values() ?? []) bytes += part.bytes.byteLength;
  return bytes;
}

/** Defines `key` on `compact` as the getter of a deflated part. */
function definePart(compact: Record<string, unknown>, key: string, part: Part): void {
  Object.defineProperty(compact, key, {
    enumerable: true,
    configurable: false,
    get: () => decodedPart(part),
    set: () => {
      throw new TypeError(`definition part '${key}' is read-only (definitions are never changed)`);
    },
  });
}

/** A part's value: from the cache, else inflated and parsed (and cached, within the bound). */
function decodedPart(part: Part): unknown {
  if (decoded.has(part)) {
    const value = decoded.get(part);
    // Most recently used last.
    decoded.delete(part);
    decoded.set(part, value);
    return value;
  }
  const value = JSON.parse(decoder.decode(inflateRawSync(part.bytes)));
  if (part.chars <= DECODED_CACHE_MAX_CHARS) {
    decoded.set(part, value);
    decodedChars += part.chars;
    for (const [old] of decoded) {
      if (decodedChars <= DECODED_CACHE_MAX_CHARS) break;
      decoded.delete(old);
      decodedChars -= old.chars;
    }
  }
  return value;
}

/** A compact definition as a snapshot stores it: its parts in order, deflated ones in base64. */
export interface StoredCompactDefinition {
  $compact: {
    /** Every top-level key, in order, with its plain value or its deflated part. */
    parts: [key: string, plain: unknown, deflated: { base64: string; chars: number } | null][];
  };
}

/**
 * How a snapshot stores `definition`: a compact one as {@linkcode StoredCompactDefinition} (its
 * deflated parts stay deflated: saving a snapshot decodes nothing), any other as it is.
 *
 * @example
 * ```ts
 * import { compactDefinition, definitionFromStored, storedDefinition } from "./compact_definition.ts";
 * const kept = compactDefinition({ name: "vm", description: "x".repeat(1 << 20) } as never);
 * const stored = storedDefinition(kept);
 * console.log(JSON.stringify(stored).length < 10_000); // true
 * console.log(JSON.stringify(definitionFromStored(stored)) === JSON.stringify(kept)); // true
 * ```
 */
export function storedDefinition(
  definition: DomainDefinition,
): DomainDefinition | StoredCompactDefinition {
  const parts = partsOf.get(definition);
  if (parts === undefined) return definition;
  const source = definition as unknown as Record<string, unknown>;
  return {
    $compact: {
      parts: Object.keys(source).map((key) => {
        const part = parts.get(key);
        return part === undefined
          ? [key, source[key], null]
          : [key, null, { base64: Buffer.from(part.bytes).toString("base64"), chars: part.chars }];
      }),
    },
  };
}

/**
 * The definition a snapshot stored with {@linkcode storedDefinition}: a stored compact one
 * becomes a compact definition again without being inflated; any other is returned as it is.
 */
export function definitionFromStored(
  stored: DomainDefinition | StoredCompactDefinition,
): DomainDefinition {
  if (!("$compact" in stored)) return stored;
  const parts = new Map<string, Part>();
  const compact: Record<string, unknown> = {};
  for (const [key, plain, deflated] of stored.$compact.parts) {
    if (deflated === null) {
      compact[key] = plain;
      continue;
    }
    const part: Part = {
      bytes: new Uint8Array(Buffer.from(deflated.base64, "base64")),
      chars: deflated.chars,
    };
    parts.set(key, part);
    definePart(compact, key, part);
  }
  partsOf.set(compact, parts);
  return compact as unknown as DomainDefinition;
}
