/**
 * A large definition made on a worker thread, sent to the main loop in the form the main loop
 * keeps it: its JSON text as the log will store it (with the text's checks, see
 * `prepareJsonText`) and its compact form (src/model/compact_definition.ts), whose large parts
 * stay deflated. Both come out of one encoding on the thread: each part is encoded once, as
 * `planCompact` plans it (a split part's children one by one), a deflated part's UTF-8 is both
 * checksummed and deflated, and the whole text is spliced from the pieces.
 *
 * The main loop then parses, encodes and deflates none of the large parts
 * ({@linkcode valueOfCompactJson}): a define holds there the completed definition's text (which
 * the log stores) and a few small objects, where parsing the texts back cost it the whole object
 * tree (and the garbage collections of it) twice, once as read and once as completed by the
 * driver. The text of a compact definition is UTF-8 in a buffer of its own, moved from the thread
 * to the main loop and on to the log's commit thread ({@linkcode compactJsonTransfer}), and its
 * deflated parts are in shared memory (src/log/json_pieces.ts): no trip copies them.
 *
 * @module
 */

import { crc32 } from "node:zlib";
import type { DomainDefinition } from "../model/domain.ts";
import {
  type CompactParts,
  definitionFromParts,
  isOmitted,
  type PartPlan,
  partsOfPlan,
  planParts,
} from "../model/compact_definition.ts";
import {
  checkBytes,
  checkJsonData,
  type KnownJsonText,
  rememberJsonText,
  utf8Length,
} from "./json_text.ts";
import { jsonTextBuffers, jsonTextString, ownedJsonText, sharedCopy } from "./json_pieces.ts";

const encoder = new TextEncoder();

/** A definition's JSON text and, when it has a large part, its compact form. */
export interface CompactJson {
  /** The whole text, as `prepareJsonText` makes it. */
  json: KnownJsonText;
  /** Every top-level key in order, its large parts deflated; absent when none is large. */
  parts?: CompactParts;
}

/**
 * Checks and encodes `definition` as `prepareJsonText` does (the same text, length, checksum and
 * depth; the text as UTF-8 pieces when the definition is compact), with its compact form when a
 * part is large (at least `COMPACT_PART_MIN_CHARS`
 * characters of JSON text; `planCompact` decides as the main loop's compaction does): for a
 * worker thread, see the module notes.
 *
 * @throws {EventStoreArgumentError} As `prepareJsonText`.
 *
 * @example
 * ```ts
 * import { prepareCompactJson } from "./compact_json.ts";
 * import { jsonTextChars } from "./json_pieces.ts";
 * const made = prepareCompactJson({ name: "vm", description: "x".repeat(1 << 17) } as never, "definition", 1 << 20);
 * console.log(jsonTextChars(made.json.text), made.parts?.map(([key, , deflated]) => [key, deflated !== null]));
 * // 131106 [ [ "name", false ], [ "description", true ] ]
 * ```
 */
export function prepareCompactJson(
  definition: DomainDefinition,
  where: string,
  maxBytes: number,
): CompactJson {
  const depth = checkJsonData(definition, where);
  // Spliced from the plans' texts whether or not a part is deflated: each part encoded once.
  const { plans, deflates } = planParts(definition);
  // The whole text spliced from the parts' texts, its checksum and length taken piece by piece;
  // a deflated part's UTF-8 serves its checksum, its deflation and the whole text's UTF-8.
  const pieces: (string | Uint8Array)[] = [];
  const utf8Of = new Map<PartPlan, Uint8Array>();
  let crc = 0;
  let bytes = 0;
  let chars = 0;
  const add = (text: string) => {
    pieces.push(text);
    crc = crc32(text, crc);
    bytes += utf8Length(text);
    chars += text.length;
  };
  const splice = (parts: readonly PartPlan[]) => {
    add("{");
    let first = true;
    for (const plan of parts) {
      if (isOmitted(plan)) continue;
      add(`${first ? "" : ","}${JSON.stringify(plan.key)}:`);
      first = false;
      if (Array.isArray(plan.keep)) {
        splice(plan.keep);
      } else if (plan.keep === "deflated") {
        const utf8 = encoder.encode(plan.text!);
        utf8Of.set(plan, utf8);
        pieces.push(utf8);
        crc = crc32(utf8, crc);
        bytes += utf8.length;
        chars += plan.text!.length;
      } else {
        add(plan.text!);
      }
    }
    add("}");
  };
  splice(plans);
  checkBytes(bytes, where, maxBytes);
  const known = { bytes, crc: crc >>> 0, depth };
  // A definition without a large part is parsed from its text on the main loop: a string (no
  // part is deflated, so every piece is one).
  if (!deflates) return { json: { text: pieces.join(""), ...known } };
  const text = ownedJsonText(pieces, bytes, chars);
  // Kept by the main loop and sent again: shared. This thread's copies are freed now, not at
  // its next collection (src/log/json_pieces.ts).
  const parts = partsOfPlan(plans, (plan) => utf8Of.get(plan)!, (deflated) => {
    const shared = sharedCopy(deflated);
    (deflated.buffer as ArrayBuffer).transfer(0);
    return shared;
  });
  for (const utf8 of utf8Of.values()) (utf8.buffer as ArrayBuffer).transfer(0);
  return { json: { text, ...known }, parts };
}

/**
 * The definition a thread sent as {@linkcode CompactJson}: compact (nothing parsed) when it came
 * with parts, else parsed from its text; either way its text is remembered for the log's append
 * of it (`rememberJsonText`).
 *
 * @example
 * ```ts
 * import { prepareCompactJson, valueOfCompactJson } from "./compact_json.ts";
 * const sent = prepareCompactJson({ name: "vm", description: "x".repeat(1 << 17) } as never, "definition", 1 << 20);
 * const definition = valueOfCompactJson(sent);
 * console.log(definition.name, definition.description?.length); // vm 131072
 * ```
 */
export function valueOfCompactJson(message: CompactJson): DomainDefinition {
  const definition = message.parts === undefined
    // JSON data by construction (checked on the thread): parsing gives the same definition.
    ? JSON.parse(jsonTextString(message.json.text)) as DomainDefinition
    : definitionFromParts(message.parts);
  rememberJsonText(definition, message.json);
  return definition;
}

/**
 * The transfer list of a message carrying `message`: its text's buffers, which move with it (a
 * thread keeps nothing of the text it sends).
 *
 * @example
 * ```ts
 * import { compactJsonTransfer, prepareCompactJson } from "./compact_json.ts";
 * const made = prepareCompactJson({ name: "vm", description: "x".repeat(1 << 17) } as never, "definition", 1 << 20);
 * console.log(compactJsonTransfer(made).length, compactJsonTransfer(undefined).length); // 1 0
 * ```
 */
export function compactJsonTransfer(message: CompactJson | undefined): ArrayBuffer[] {
  return jsonTextBuffers(message?.json.text);
}
