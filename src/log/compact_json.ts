/**
 * A large definition made on a worker thread, sent to the main loop in the form the main loop
 * keeps it: its JSON text as the log will store it (with the text's checks, see
 * `prepareJsonText`) and its compact form (src/model/compact_definition.ts), whose large parts
 * stay deflated. Both come out of one encoding on the thread: each part is encoded once, as
 * `planCompact` plans it (a split part's children one by one), a deflated part's UTF-8 is both
 * checksummed and deflated, and the whole text is spliced from the pieces.
 *
 * The main loop then parses, encodes and deflates none of the large parts
 * ({@linkcode valueOfCompactJson}): a define holds there the definition's text as read (which the
 * QEMU driver sends on to its dry-build thread), the completed definition's text (which the log
 * stores) and a few small objects, where parsing the texts back cost it the whole object tree
 * (and the garbage collections of it) twice, once as read and once as completed by the driver.
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
  checkJsonData,
  checkJsonSize,
  type KnownJsonText,
  rememberJsonText,
  utf8Length,
} from "./json_text.ts";

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
 * depth), with its compact form when a part is large (at least `COMPACT_PART_MIN_CHARS`
 * characters of JSON text; `planCompact` decides as the main loop's compaction does): for a
 * worker thread, see the module notes.
 *
 * @throws {EventStoreArgumentError} As `prepareJsonText`.
 *
 * @example
 * ```ts
 * import { prepareCompactJson } from "./compact_json.ts";
 * const made = prepareCompactJson({ name: "vm", description: "x".repeat(1 << 17) } as never, "definition", 1 << 20);
 * console.log(made.json.text.length, made.parts?.map(([key, , deflated]) => [key, deflated !== null]));
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
  // a deflated part's UTF-8 serves both its checksum and its deflation.
  const pieces: string[] = [];
  const utf8Of = new Map<PartPlan, Uint8Array>();
  let crc = 0;
  let bytes = 0;
  const add = (text: string) => {
    pieces.push(text);
    crc = crc32(text, crc);
    bytes += utf8Length(text);
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
        pieces.push(plan.text!);
        crc = crc32(utf8, crc);
        bytes += utf8.length;
      } else {
        add(plan.text!);
      }
    }
    add("}");
  };
  splice(plans);
  const text = pieces.join("");
  checkJsonSize(text, where, maxBytes, bytes);
  const json = { text, bytes, crc: crc >>> 0, depth };
  return deflates ? { json, parts: partsOfPlan(plans, (plan) => utf8Of.get(plan)!) } : { json };
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
    ? JSON.parse(message.json.text) as DomainDefinition
    : definitionFromParts(message.parts);
  rememberJsonText(definition, message.json);
  return definition;
}
