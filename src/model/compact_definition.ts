/**
 * Definitions kept compact in memory: a domain keeps its definitions for its whole life, and a
 * parsed definition costs at least its text in the JS heap (a 4 MiB description is a 4 MiB
 * string; 100,000 devices are 100,000 objects). {@linkcode compactDefinition} keeps every large
 * top-level part of a definition (its JSON text over {@linkcode COMPACT_PART_MIN_CHARS}
 * characters: a long description, the device lists of a huge domain) as deflated UTF-8 JSON in
 * a `Uint8Array`, behind an enumerable getter that decodes it on access. The small parts (name,
 * uuid, memory, …) stay plain properties, so lists and summaries decode nothing. A large part that
 * is an object (`devices`) is split once: it stays an object of its own whose children over
 * {@linkcode NESTED_PART_MIN_CHARS} characters (each device list) are deflated the same way and
 * whose small ones (`emulator`, short lists) stay plain, so reading one list or the emulator
 * decodes no other list (when none of its children is that large, it is deflated whole).
 *
 * Readers see a plain definition: property reads, spread, `Object.keys`, `JSON.stringify` and
 * structured clone all go through the getters and give the same values in the same key order.
 * Decoded parts are held in one small cache bounded by {@linkcode DECODED_CACHE_MAX_CHARS}
 * characters of JSON text (least recently used dropped first), so a burst of reads of the same
 * definition decodes it once and the cache never holds more than a few large parts. A part read
 * after it left the cache is decoded again: an equal value, not the same object (definitions are
 * never changed once made, so no reader can tell but by identity).
 *
 * A large definition read on a worker thread comes to the main loop compact already
 * ({@linkcode CompactParts}, made by `prepareCompactJson` in src/log/compact_json.ts, turned
 * back by {@linkcode definitionFromParts}): its large parts are never parsed, encoded or deflated
 * on the main loop, which then allocates little more than the definition's JSON text for the log.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { deflateRawSync, inflateRawSync } from "node:zlib";
import type { DomainDefinition } from "./domain.ts";

/** A top-level part whose JSON text is at least this many characters is kept deflated. */
export const COMPACT_PART_MIN_CHARS = 64 * 1024;

/** A child of a split part (see the module notes) is kept deflated from this many characters. */
export const NESTED_PART_MIN_CHARS = 4 * 1024;

/** Decoded parts kept at once, in characters of their JSON text. */
export const DECODED_CACHE_MAX_CHARS = 16 * 1024 * 1024;

/** zlib's fastest level: definitions are compacted on the main loop. */
const DEFLATE_LEVEL = 1;

/** One deflated part: its bytes and the length of its JSON text. */
export interface DeflatedPart {
  /** The part's JSON text as UTF-8, deflated (raw deflate). */
  bytes: Uint8Array;
  /** The length of its JSON text, in UTF-16 units. */
  chars: number;
}

type Part = DeflatedPart;

/**
 * A compact definition's form as a thread sends it: every top-level key in order, with its
 * plain value, its deflated part, or (a split part) the form of the object it stays.
 */
export type CompactParts = CompactPart[];

/** One key of {@linkcode CompactParts}: exactly one of `plain`, `deflated`, `nested` is used. */
export type CompactPart =
  | [key: string, plain: unknown, deflated: null]
  | [key: string, plain: null, deflated: DeflatedPart]
  | [key: string, plain: null, deflated: null, nested: CompactParts];

/**
 * How one part is kept, as {@linkcode planCompact} decides: its text (the children's for a
 * split part) and whether it stays plain, is deflated, or is split.
 */
export interface PartPlan {
  key: string;
  value: unknown;
  /** The length of its JSON text. */
  chars: number;
  /** Its JSON text; absent for a split part (its children have theirs). */
  text?: string;
  keep: "plain" | "deflated" | PartPlan[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Compact forms made, by the plain definition they came from (the same plain one, the same
 * form; a definition with no large part maps to itself).
 */
const compactOf = new WeakMap<object, DomainDefinition>();

/**
 * The parts of every compact object (a definition, or a split part of one), by object: a
 * deflated part, or null for a split part (an object with its own entry here).
 */
const partsOf = new WeakMap<object, Map<string, Part | null>>();

/** Decoded parts, least recently used first. */
const decoded = new Map<Part, unknown>();
let decodedChars = 0;

/** Whether `value` is a plain object (a part that can be split). */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/**
 * How each top-level part of a plain definition (JSON data) is to be kept, with every part's
 * JSON text, made once; undefined when no part is large enough to deflate. The one rule both the
 * main loop ({@linkcode compactDefinition}) and a worker thread (`prepareCompactJson` in
 * src/log/compact_json.ts, which also splices the whole text from these) follow.
 *
 * @example
 * ```ts
 * import { planCompact } from "./compact_definition.ts";
 * const plan = planCompact({ name: "vm", description: "x".repeat(1 << 17) } as never);
 * console.log(plan?.map((part) => [part.key, part.keep]));
 * // [ [ "name", "plain" ], [ "description", "deflated" ] ]
 * ```
 */
export function planCompact(definition: DomainDefinition): PartPlan[] | undefined {
  const { plans, deflates } = planParts(definition);
  return deflates ? plans : undefined;
}

/**
 * {@linkcode planCompact}'s plans whether or not a part is deflated (a thread splices the whole
 * text from them either way), and whether one is.
 */
export function planParts(definition: DomainDefinition): { plans: PartPlan[]; deflates: boolean } {
  const source = definition as unknown as Record<string, unknown>;
  let deflates = false;
  const plans = Object.keys(source).map((key): PartPlan => {
    const value = source[key];
    if (isPlainObject(value)) {
      const children = Object.keys(value).map((child) =>
        planOf(child, value[child], NESTED_PART_MIN_CHARS)
      );
      const chars = joinedLength(children);
      if (chars < COMPACT_PART_MIN_CHARS) {
        return { key, value, chars, text: joinedText(children), keep: "plain" };
      }
      deflates = true;
      return children.some((child) => child.keep === "deflated")
        ? { key, value, chars, keep: children }
        : { key, value, chars, text: joinedText(children), keep: "deflated" };
    }
    const plan = planOf(key, value, COMPACT_PART_MIN_CHARS);
    if (plan.keep === "deflated") deflates = true;
    return plan;
  });
  return { plans, deflates };
}

/** A part kept whole: deflated from `minChars` characters of JSON text. */
function planOf(key: string, value: unknown, minChars: number): PartPlan {
  const text = jsonText(value);
  // No text (undefined, a function): JSON leaves the key out; the value stays as it is.
  if (text === undefined) return { key, value, chars: 0, keep: "plain" };
  return {
    key,
    value,
    chars: text.length,
    text,
    keep: text.length >= minChars ? "deflated" : "plain",
  };
}

/** What JSON escapes in a string (any surrogate: a lone one is escaped, a pair is not). */
// deno-lint-ignore no-control-regex -- JSON escapes the control characters: that is the test.
const ESCAPED = /["\\\u0000-\u001f\ud800-\udfff]/;

/**
 * `JSON.stringify(value)`; a long string with nothing to escape is quoted as it is, several
 * times faster (a 4 MiB description: 3 ms against 11–25).
 */
function jsonText(value: unknown): string | undefined {
  if (typeof value === "string" && value.length >= NESTED_PART_MIN_CHARS && !ESCAPED.test(value)) {
    return `"${value}"`;
  }
  return JSON.stringify(value) as string | undefined;
}

/** Whether JSON leaves `plan`'s key out of its object's text (its value has no text). */
export function isOmitted(plan: PartPlan): boolean {
  return plan.text === undefined && !Array.isArray(plan.keep);
}

/** The length of the JSON text of an object whose children are planned: braces, commas, keys. */
function joinedLength(children: readonly PartPlan[]): number {
  const kept = children.filter((child) => !isOmitted(child));
  let chars = 2 + Math.max(0, kept.length - 1);
  for (const child of kept) chars += JSON.stringify(child.key).length + 1 + child.chars;
  return chars;
}

/** The JSON text of an object whose children's texts are planned. */
function joinedText(children: readonly PartPlan[]): string {
  const kept = children.filter((child) => !isOmitted(child));
  return `{${kept.map((child) => `${JSON.stringify(child.key)}:${child.text}`).join(",")}}`;
}

/**
 * The form of a plan (see {@linkcode planCompact}): deflated parts deflated from the UTF-8
 * `utf8Of` gives for them (a thread has it already; by default, their text encoded now), each
 * kept as `keep` gives it (a thread copies it into shared memory; by default, as it is).
 */
export function partsOfPlan(
  plans: readonly PartPlan[],
  utf8Of: (plan: PartPlan) => Uint8Array = (plan) => encoder.encode(plan.text!),
  keep: (deflated: Uint8Array) => Uint8Array = (deflated) => deflated,
): CompactParts {
  return plans.map((plan): CompactPart => {
    if (plan.keep === "plain") return [plan.key, plan.value, null];
    if (plan.keep === "deflated") {
      const part = deflatedPart(utf8Of(plan), plan.chars);
      return [plan.key, null, { bytes: keep(part.bytes), chars: part.chars }];
    }
    return [plan.key, null, null, partsOfPlan(plan.keep, utf8Of, keep)];
  });
}

/**
 * `definition` with its large parts kept deflated (see the module notes); the definition itself
 * when it has none, or when it is compact already. The same plain definition always gives the
 * same compact object.
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
  const plans = planCompact(definition);
  if (plans === undefined) {
    // Remembered too: the fold passes the same definition on every later fact (and at replay),
    // and would serialise its parts again only to find them small.
    compactOf.set(definition, definition);
    return definition;
  }
  const compact = definitionFromParts(partsOfPlan(plans));
  compactOf.set(definition, compact);
  return compact;
}

/**
 * A part's JSON text, given as UTF-8 bytes, deflated as a compact definition keeps it.
 *
 * @param utf8 The part's JSON text as UTF-8.
 * @param chars The length of that text in UTF-16 units.
 */
export function deflatedPart(utf8: Uint8Array, chars: number): DeflatedPart {
  const deflated = deflateRawSync(utf8, { level: DEFLATE_LEVEL });
  // Its own buffer, of its own size: zlib's may be a slice of a larger one, which a copy to
  // another thread would carry whole.
  const bytes = deflated.byteOffset === 0 && deflated.byteLength === deflated.buffer.byteLength
    ? deflated
    : new Uint8Array(deflated);
  return { bytes, chars };
}

/**
 * The definition of a compact form made elsewhere (a worker thread, a snapshot): a compact
 * definition when a part is deflated, else a plain one. Nothing is inflated.
 *
 * @example
 * ```ts
 * import { definitionFromParts, isCompactDefinition } from "./compact_definition.ts";
 * const definition = definitionFromParts([["name", "vm", null]]);
 * console.log(definition.name, isCompactDefinition(definition)); // vm false
 * ```
 */
export function definitionFromParts(form: CompactParts): DomainDefinition {
  return objectFromParts(form) as unknown as DomainDefinition;
}

function objectFromParts(form: CompactParts): Record<string, unknown> {
  const parts = new Map<string, Part | null>();
  const compact: Record<string, unknown> = {};
  for (const [key, plain, deflated, nested] of form) {
    if (nested !== undefined) {
      parts.set(key, null);
      compact[key] = objectFromParts(nested);
    } else if (deflated !== null) {
      parts.set(key, deflated);
      definePart(compact, key, deflated);
    } else {
      compact[key] = plain;
    }
  }
  if (parts.size > 0) partsOf.set(compact, parts);
  return compact;
}

/**
 * The form of a compact definition (see {@linkcode CompactParts}), its deflated parts as they are
 * kept (nothing is inflated): what a thread that needs the whole definition is sent instead of
 * its JSON text, a fraction of its size. Undefined for a definition that is not compact.
 *
 * @example
 * ```ts
 * import { compactDefinition, compactPartsOf } from "./compact_definition.ts";
 * const kept = compactDefinition({ name: "vm", description: "x".repeat(1 << 20) } as never);
 * console.log(compactPartsOf(kept)?.map(([key, , deflated]) => [key, deflated !== null]));
 * // [ [ "name", false ], [ "description", true ] ]
 * ```
 */
export function compactPartsOf(definition: DomainDefinition): CompactParts | undefined {
  return partsOf.has(definition) ? formOf(definition) : undefined;
}

function formOf(compact: object): CompactParts {
  const parts = partsOf.get(compact)!;
  const source = compact as Record<string, unknown>;
  return Object.keys(source).map((key): CompactPart => {
    const part = parts.get(key);
    if (part === undefined) return [key, source[key], null];
    if (part === null) return [key, null, null, formOf(source[key] as object)];
    return [key, null, part];
  });
}

/**
 * The plain definition of a compact form, every part inflated and parsed (for a thread that reads
 * the whole definition once: no getters, nothing cached).
 *
 * @example
 * ```ts
 * import { compactDefinition, compactPartsOf, plainFromParts } from "./compact_definition.ts";
 * const kept = compactDefinition({ name: "vm", description: "x".repeat(1 << 20) } as never);
 * console.log(plainFromParts(compactPartsOf(kept)!).description?.length); // 1048576
 * ```
 */
export function plainFromParts(form: CompactParts): DomainDefinition {
  return plainObjectOf(form) as unknown as DomainDefinition;
}

function plainObjectOf(form: CompactParts): Record<string, unknown> {
  const plain: Record<string, unknown> = {};
  for (const [key, value, deflated, nested] of form) {
    if (nested !== undefined) plain[key] = plainObjectOf(nested);
    else if (deflated !== null) {
      plain[key] = JSON.parse(decoder.decode(inflateRawSync(deflated.bytes)));
    } else plain[key] = value;
  }
  return plain;
}

/**
 * `definition` with one top-level part replaced by `value`, the other parts as they are kept
 * (deflated ones stay deflated: nothing is inflated), in the same key order, and the new part
 * kept as {@linkcode planCompact} would keep it (deflated or split when large); a plain
 * definition gives a plain copy.
 *
 * @example
 * ```ts
 * import { compactDefinition, isCompactPart, withPart } from "./compact_definition.ts";
 * const kept = compactDefinition({ name: "vm", description: "x".repeat(1 << 20) } as never);
 * const renamed = withPart(kept, "name", "vm2");
 * console.log(renamed.name, isCompactPart(renamed, "description")); // vm2 true
 * ```
 */
export function withPart<Key extends keyof DomainDefinition>(
  definition: DomainDefinition,
  key: Key,
  value: DomainDefinition[Key],
): DomainDefinition {
  const parts = partsOf.get(definition);
  if (parts === undefined) return { ...definition, [key]: value };
  const source = definition as unknown as Record<string, unknown>;
  const planned = planCompact({ [key]: value } as unknown as DomainDefinition);
  const replaced: CompactPart = planned === undefined
    ? [key, value, null]
    : partsOfPlan(planned)[0];
  const form = Object.keys(source).map((name): CompactPart => {
    if (name === key) return replaced;
    const part = parts.get(name);
    if (part === undefined) return [name, source[name], null];
    // A split part is carried as its form (its deflated parts shared, nothing inflated).
    return part === null ? [name, null, null, formOf(source[name] as object)] : [name, null, part];
  });
  if (!(key in source)) form.push(replaced);
  return definitionFromParts(form);
}

/**
 * Whether `definition` keeps `key` compact (deflated, or split): reading all of it would inflate
 * and parse it.
 *
 * @example
 * ```ts
 * import { compactDefinition, isCompactPart } from "./compact_definition.ts";
 * const kept = compactDefinition({ name: "vm", description: "x".repeat(1 << 20) } as never);
 * console.log(isCompactPart(kept, "description"), isCompactPart(kept, "name")); // true false
 * ```
 */
export function isCompactPart(definition: DomainDefinition, key: string): boolean {
  return partsOf.get(definition)?.has(key) ?? false;
}

/**
 * Whether `definition` is kept compact: at least one of its parts (or of its split parts) is
 * deflated, whether it was made by {@linkcode compactDefinition}, {@linkcode definitionFromParts},
 * {@linkcode withPart} or {@linkcode definitionFromStored}.
 */
export function isCompactDefinition(definition: DomainDefinition): boolean {
  return partsOf.has(definition);
}

/**
 * The bytes `definition` keeps for its deflated parts (0 when it has none): what a kept
 * definition costs besides its small plain parts.
 */
export function compactBytes(definition: DomainDefinition): number {
  return bytesOf(definition);
}

function bytesOf(compact: object): number {
  let bytes = 0;
  for (const [key, part] of partsOf.get(compact) ?? []) {
    bytes += part === null
      ? bytesOf((compact as Record<string, object>)[key])
      : part.bytes.byteLength;
  }
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
    /** Every top-level key, in order, with its plain value, its deflated part or its split form. */
    parts: StoredPart[];
  };
}

/** One key of a stored compact definition (as {@linkcode CompactPart}, bytes in base64). */
type StoredPart =
  | [key: string, plain: unknown, deflated: null]
  | [key: string, plain: null, deflated: { base64: string; chars: number }]
  | [key: string, plain: null, deflated: null, nested: StoredPart[]];

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
  const form = compactPartsOf(definition);
  return form === undefined ? definition : { $compact: { parts: storedOf(form) } };
}

/** A compact form as a snapshot stores it: its deflated bytes in base64. */
function storedOf(form: CompactParts): StoredPart[] {
  return form.map(([key, plain, deflated, nested]): StoredPart => {
    if (nested !== undefined) return [key, null, null, storedOf(nested)];
    if (deflated === null) return [key, plain, null];
    return [key, null, {
      base64: Buffer.from(deflated.bytes).toString("base64"),
      chars: deflated.chars,
    }];
  });
}

/**
 * The definition a snapshot stored with {@linkcode storedDefinition}: a stored compact one
 * becomes a compact definition again without being inflated; any other is returned as it is.
 */
export function definitionFromStored(
  stored: DomainDefinition | StoredCompactDefinition,
): DomainDefinition {
  if (!("$compact" in stored)) return stored;
  return definitionFromParts(formOfStored(stored.$compact.parts));
}

function formOfStored(stored: StoredPart[]): CompactParts {
  return stored.map(([key, plain, deflated, nested]): CompactPart => {
    if (nested !== undefined) return [key, null, null, formOfStored(nested)];
    if (deflated === null) return [key, plain, null];
    return [key, null, {
      bytes: new Uint8Array(Buffer.from(deflated.base64, "base64")),
      chars: deflated.chars,
    }];
  });
}
