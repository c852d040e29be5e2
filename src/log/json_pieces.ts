/**
 * JSON text that crosses threads without a copy. A large definition is read and encoded on a
 * worker thread; its text then goes to the main loop and on to the log's commit thread. Sent as
 * a string, each of those trips copies it (a 4 MiB text: 12–15 ms of the main loop per trip, as
 * long as a structured clone takes). Written once as UTF-8 into a buffer of its own
 * ({@linkcode ownedJsonText}), it is moved instead (a transfer: no copy), and only the thread that
 * stores it turns it into one value ({@linkcode jsonTextUtf8}).
 *
 * Such a buffer has one owner at a time, and on the define path the last one frees it at once
 * ({@linkcode releaseJsonText}: the log's commit thread once it wrote it, the QEMU driver once
 * completion replaced the text as read) instead of leaving it to a garbage collection: V8
 * collects buffers only as an isolate's heap grows or its buffers pass tens of megabytes, so a few
 * megabytes left per define in each of four isolates raised the service's peak by 150 MiB
 * (shared buffers, which no thread can free, did). Elsewhere (a refused define, a log kept in
 * memory or on NATS, which store strings) a text is left to the collector. A buffer moved to
 * another thread or freed reads as detached: using it then throws instead of reading nothing.
 *
 * A {@linkcode JsonText} is a string or {@linkcode JsonPieces}: short strings around such UTF-8
 * (a fact's body spliced around a definition's text). The bytes are never changed once made.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { concatBytes } from "../model/byte_chunks.ts";

/** JSON text as a string, or as pieces (see the module notes). */
export type JsonText = string | JsonPieces;

/** A JSON text in pieces: strings, and UTF-8 in buffers of their own (see the module notes). */
export interface JsonPieces {
  /** The text's pieces in order. */
  readonly pieces: readonly (string | Uint8Array)[];
  /** The whole text's length in UTF-16 units (what the log counts bodies in). */
  readonly chars: number;
}

const encoder = new TextEncoder();

/**
 * A text as one piece of UTF-8 in a buffer of its own (see the module notes), for a thread that
 * made a large text another thread will keep or send on: move it with
 * {@linkcode jsonTextBuffers}.
 *
 * @param pieces The text's pieces in order, strings or their UTF-8 (not joined here).
 * @param bytes The text's length in UTF-8 bytes.
 * @param chars Its length in UTF-16 units.
 * @throws {RangeError} When the pieces do not have `bytes` bytes.
 *
 * @example
 * ```ts
 * import { jsonTextString, ownedJsonText } from "./json_pieces.ts";
 * const owned = ownedJsonText(['{"a":', new Uint8Array([0x22, 0xc3, 0xa9, 0x22]), "}"], 10, 9);
 * console.log(owned.chars, (owned.pieces[0] as Uint8Array).byteLength); // 9 10
 * console.log(jsonTextString(owned)); // {"a":"é"}
 * ```
 */
export function ownedJsonText(
  pieces: readonly (string | Uint8Array)[],
  bytes: number,
  chars: number,
): JsonPieces {
  const utf8 = new Uint8Array(bytes);
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
 * The buffers of `text`'s UTF-8 pieces, each once: the transfer list of a message that moves
 * the text to another thread (it is detached here afterwards).
 *
 * @example
 * ```ts
 * import { jsonTextBuffers, ownedJsonText } from "./json_pieces.ts";
 * const owned = ownedJsonText(["[1]"], 3, 3);
 * console.log(jsonTextBuffers({ pieces: ["[", ...owned.pieces, ",", ...owned.pieces, "]"], chars: 9 }).length);
 * // 1
 * ```
 */
export function jsonTextBuffers(text: JsonText | undefined): ArrayBuffer[] {
  if (text === undefined || typeof text === "string") return [];
  const buffers = new Set<ArrayBuffer>();
  for (const piece of text.pieces) {
    if (typeof piece !== "string") buffers.add(ownBuffer(piece));
  }
  return [...buffers];
}

/**
 * Frees the memory of `text`'s UTF-8 pieces now (their owner is done with them; nothing else may
 * read them): see the module notes. Pieces moved away or released already are skipped.
 *
 * @example
 * ```ts
 * import { jsonTextString, ownedJsonText, releaseJsonText } from "./json_pieces.ts";
 * const owned = ownedJsonText(["[1]"], 3, 3);
 * releaseJsonText(owned);
 * try {
 *   jsonTextString(owned);
 * } catch (error) {
 *   console.log((error as Error).message); // A JSON text was read after it was moved or released
 * }
 * ```
 */
export function releaseJsonText(text: JsonText | undefined): void {
  for (const buffer of jsonTextBuffers(text)) if (!buffer.detached) buffer.transfer(0);
}

/** Whether a piece of `text` was moved to another thread or released. */
export function isJsonTextReleased(text: JsonText): boolean {
  if (typeof text === "string") return false;
  return text.pieces.some((piece) =>
    typeof piece !== "string" && (piece.buffer as ArrayBuffer).detached
  );
}

/** The buffer `piece` spans whole (a piece is made so), to move. */
function ownBuffer(piece: Uint8Array): ArrayBuffer {
  const buffer = piece.buffer;
  if (
    buffer instanceof SharedArrayBuffer || piece.byteOffset !== 0 ||
    piece.byteLength !== buffer.byteLength
  ) {
    throw new RangeError("A JSON text's piece must span a buffer of its own");
  }
  return buffer;
}

/** Refuses a piece moved away or released (it would read as nothing). */
function attached(piece: Uint8Array): Uint8Array {
  if ((piece.buffer as ArrayBuffer).detached) {
    throw new Error("A JSON text was read after it was moved or released");
  }
  return piece;
}

/**
 * A copy of `bytes` in shared memory, to send to other threads by reference: for bytes the main
 * loop keeps and sends again and again (a compact definition's deflated parts), which a move
 * would take from it. Freed by garbage collection once no thread holds them.
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
 * The characters of `text` that a message to another thread copies (its strings; its UTF-8
 * pieces are moved).
 *
 * @example
 * ```ts
 * import { copiedChars, ownedJsonText } from "./json_pieces.ts";
 * const owned = ownedJsonText(['"long"'], 6, 6);
 * console.log(copiedChars({ pieces: ["[", ...owned.pieces, "]"], chars: 8 })); // 2
 * ```
 */
export function copiedChars(text: JsonText): number {
  if (typeof text === "string") return text.length;
  let chars = 0;
  for (const piece of text.pieces) if (typeof piece === "string") chars += piece.length;
  return chars;
}

/**
 * `text` as one string (decoding its UTF-8 pieces): for code that needs a string, which a
 * large text's trip between threads should not.
 *
 * @throws {Error} When a piece was moved away or released.
 *
 * @example
 * ```ts
 * import { jsonTextString, ownedJsonText } from "./json_pieces.ts";
 * console.log(jsonTextString({ pieces: ["[", ...ownedJsonText(["1"], 1, 1).pieces, "]"], chars: 3 }));
 * // [1]
 * ```
 */
export function jsonTextString(text: JsonText): string {
  if (typeof text === "string") return text;
  let joined = "";
  for (const piece of text.pieces) {
    joined += typeof piece === "string"
      ? piece
      : Buffer.from(attached(piece).buffer, piece.byteOffset, piece.byteLength).toString("utf8");
  }
  return joined;
}

/**
 * `text` as one UTF-8 value for storage: a string as it is, a text of one UTF-8 piece as that
 * piece (no copy), any other joined into fresh bytes.
 *
 * @throws {Error} When a piece was moved away or released.
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
  if (text.pieces.length === 1 && typeof text.pieces[0] !== "string") {
    return attached(text.pieces[0]);
  }
  return concatBytes(
    text.pieces.map((piece) => typeof piece === "string" ? encoder.encode(piece) : attached(piece)),
  );
}

/**
 * Runs `use` with `text` as {@linkcode jsonTextUtf8} gives it, then frees the bytes it joined
 * for it (if any): for a thread that stores many large texts.
 *
 * @example
 * ```ts
 * import { withJsonTextUtf8 } from "./json_pieces.ts";
 * console.log(withJsonTextUtf8({ pieces: ["[", new Uint8Array([0x31]), "]"], chars: 3 }, (utf8) => utf8.length));
 * // 3
 * ```
 */
export function withJsonTextUtf8<T>(text: JsonText, use: (value: string | Uint8Array) => T): T {
  const value = jsonTextUtf8(text);
  try {
    return use(value);
  } finally {
    if (typeof text !== "string" && typeof value !== "string" && !text.pieces.includes(value)) {
      (value.buffer as ArrayBuffer).transfer(0);
    }
  }
}

/**
 * `texts` joined into one text: a string when all are strings (joined with `+`: a long one is
 * then referenced, not copied), else pieces (UTF-8 ones referenced), adjacent strings joined.
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
    // The UTF-8 pieces' characters (the strings' are counted as pushed).
    chars += text.chars - copiedChars(text);
  }
  return { pieces, chars };
}
