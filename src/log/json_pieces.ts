/**
 * JSON text that crosses threads without a copy. A large definition is read and encoded on a
 * worker thread; its text then goes to the main loop, the driver's dry-build thread and the log's
 * commit thread. Sent as a string, each of those trips copies it (a 4 MiB text: 12–15 ms of the
 * main loop per trip, as long as a structured clone takes). Written once as UTF-8 into memory
 * shared between threads ({@linkcode shareJsonText}), it is sent as a reference instead, and
 * only the thread that stores it turns it into one value ({@linkcode jsonTextUtf8}).
 *
 * A {@linkcode JsonText} is a string or {@linkcode JsonPieces}: short strings around shared
 * UTF-8 (a fact's body spliced around a definition's text). Shared bytes are never changed once
 * made.
 *
 * @module
 */

import { Buffer } from "node:buffer";

/** JSON text as a string, or as pieces (see the module notes). */
export type JsonText = string | JsonPieces;

/** A JSON text in pieces: strings, and UTF-8 in memory shared between threads. */
export interface JsonPieces {
  /** The text's pieces in order. */
  readonly pieces: readonly (string | Uint8Array)[];
  /** The whole text's length in UTF-16 units (what the log counts bodies in). */
  readonly chars: number;
}

const encoder = new TextEncoder();

/**
 * A text as pieces of UTF-8 in shared memory (see the module notes), for a thread that made a
 * large text another thread will keep or send on.
 *
 * @param pieces The text's pieces in order, strings or their UTF-8 (not joined here).
 * @param bytes The text's length in UTF-8 bytes.
 * @param chars Its length in UTF-16 units.
 * @throws {RangeError} When the pieces do not have `bytes` bytes.
 *
 * @example
 * ```ts
 * import { jsonTextString, shareJsonText } from "./json_pieces.ts";
 * const shared = shareJsonText(['{"a":', new Uint8Array([0x22, 0xc3, 0xa9, 0x22]), "}"], 10, 9);
 * console.log(shared.chars, (shared.pieces[0] as Uint8Array).buffer instanceof SharedArrayBuffer);
 * // 9 true
 * console.log(jsonTextString(shared)); // {"a":"é"}
 * ```
 */
export function shareJsonText(
  pieces: readonly (string | Uint8Array)[],
  bytes: number,
  chars: number,
): JsonPieces {
  const utf8 = new Uint8Array(new SharedArrayBuffer(bytes));
  let written = 0;
  let fits = true;
  for (const piece of pieces) {
    if (typeof piece !== "string") {
      fits = written + piece.byteLength <= bytes;
      if (!fits) break;
      utf8.set(piece, written);
      written += piece.byteLength;
      continue;
    }
    const done = encoder.encodeInto(piece, utf8.subarray(written));
    written += done.written;
    fits = done.read === piece.length;
    if (!fits) break;
  }
  if (!fits || written !== bytes) {
    throw new RangeError(`The text's pieces do not have ${bytes} UTF-8 bytes`);
  }
  return { pieces: [utf8], chars };
}

/**
 * A copy of `bytes` in shared memory, to send to other threads by reference.
 *
 * @example
 * ```ts
 * import { sharedCopy } from "./json_pieces.ts";
 * console.log(sharedCopy(new Uint8Array([1, 2])).buffer instanceof SharedArrayBuffer); // true
 * ```
 */
export function sharedCopy(bytes: Uint8Array): Uint8Array {
  const copy = new Uint8Array(new SharedArrayBuffer(bytes.byteLength));
  copy.set(bytes);
  return copy;
}

/**
 * The length of `text` in UTF-16 units.
 *
 * @example
 * ```ts
 * import { jsonTextChars } from "./json_pieces.ts";
 * console.log(jsonTextChars("{}"), jsonTextChars({ pieces: [], chars: 7 })); // 2 7
 * ```
 */
export function jsonTextChars(text: JsonText): number {
  return typeof text === "string" ? text.length : text.chars;
}

/**
 * The characters of `text` that a message to another thread copies (its strings; shared bytes
 * are sent by reference).
 *
 * @example
 * ```ts
 * import { copiedChars, shareJsonText } from "./json_pieces.ts";
 * const shared = shareJsonText(['"long"'], 6, 6);
 * console.log(copiedChars({ pieces: ["[", ...shared.pieces, "]"], chars: 8 })); // 2
 * ```
 */
export function copiedChars(text: JsonText): number {
  if (typeof text === "string") return text.length;
  let chars = 0;
  for (const piece of text.pieces) if (typeof piece === "string") chars += piece.length;
  return chars;
}

/**
 * `text` as one string (decoding its shared pieces): for code that needs a string, which a
 * large text's trip between threads should not.
 *
 * @example
 * ```ts
 * import { jsonTextString, shareJsonText } from "./json_pieces.ts";
 * console.log(jsonTextString({ pieces: ["[", ...shareJsonText(["1"], 1, 1).pieces, "]"], chars: 3 }));
 * // [1]
 * ```
 */
export function jsonTextString(text: JsonText): string {
  if (typeof text === "string") return text;
  let joined = "";
  for (const piece of text.pieces) {
    joined += typeof piece === "string"
      ? piece
      : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength).toString("utf8");
  }
  return joined;
}

/**
 * `text` as one UTF-8 value for storage: a string as it is, a text of one shared piece as that
 * piece (no copy), any other joined into fresh bytes.
 *
 * @example
 * ```ts
 * import { jsonTextUtf8 } from "./json_pieces.ts";
 * console.log(jsonTextUtf8({ pieces: ["[", new Uint8Array([0x31]), "]"], chars: 3 }));
 * // Uint8Array(3) [ 91, 49, 93 ]
 * ```
 */
export function jsonTextUtf8(text: JsonText): string | Uint8Array {
  if (typeof text === "string") return text;
  if (text.pieces.length === 1 && typeof text.pieces[0] !== "string") return text.pieces[0];
  const parts = text.pieces.map((piece) =>
    typeof piece === "string" ? encoder.encode(piece) : piece
  );
  const joined = new Uint8Array(parts.reduce((sum, part) => sum + part.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.byteLength;
  }
  return joined;
}

/**
 * `texts` joined into one text: a string when all are strings (joined with `+`: a long one is
 * then referenced, not copied), else pieces, adjacent strings joined.
 *
 * @example
 * ```ts
 * import { joinJsonTexts } from "./json_pieces.ts";
 * console.log(joinJsonTexts(["[", "1", "]"])); // [1]
 * const joined = joinJsonTexts(["[", { pieces: ["1", new Uint8Array([0x32])], chars: 2 }, "]"]);
 * console.log(joined); // { pieces: [ "[1", Uint8Array(1) [ 50 ], "]" ], chars: 4 }
 * ```
 */
export function joinJsonTexts(texts: readonly JsonText[]): JsonText {
  if (texts.every((text) => typeof text === "string")) {
    let joined = "";
    for (const text of texts) joined += text;
    return joined;
  }
  const pieces: (string | Uint8Array)[] = [];
  let chars = 0;
  const push = (piece: string | Uint8Array) => {
    const last = pieces.length - 1;
    if (typeof piece === "string") {
      chars += piece.length;
      if (piece.length === 0) return;
      if (typeof pieces[last] === "string") {
        pieces[last] += piece;
        return;
      }
    }
    pieces.push(piece);
  };
  for (const text of texts) {
    if (typeof text === "string") {
      push(text);
      continue;
    }
    for (const piece of text.pieces) push(piece);
    // The shared pieces' characters (the strings' are counted as pushed).
    chars += text.chars - copiedChars(text);
  }
  return { pieces, chars };
}
