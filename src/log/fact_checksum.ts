/**
 * The checksum stored with every fact and snapshot, so bytes changed outside evirt (a bit flip,
 * a torn page, an edit with the sqlite3 shell) are found when the record is read, never passed on.
 *
 * The checksum is CRC-32 (ISO-HDLC, the one of gzip and PNG) of the record's fields as UTF-8
 * text, each followed by a line feed. It is computed by `node:zlib`'s native `crc32`: about
 * 0.2 µs for a typical fact here, against about 2 µs for a SHA-256 through `node:crypto`, which
 * matters because every append and every read of recovery pays it. It guards against accidents,
 * not adversaries: whoever can write the file can recompute any unkeyed digest, SHA-256 included.
 * Against accidents CRC-32 finds every burst of up to 32 bits and misses a random change with a
 * chance of 2^-32 per record. Fields are joined with line feeds, which none of them can contain
 * (stream names and types exclude control characters; JSON text escapes them), so two different
 * records never hash the same text.
 *
 * @module
 */

import { crc32 } from "node:zlib";
import type { StoredFact, StoredSnapshot } from "./fact_storage.ts";

/** The fields of a fact the checksum covers: everything stored about it. */
export type ChecksummedFact = Omit<StoredFact, "checksum">;

/**
 * The checksum of a fact: CRC-32 of `position`, `stream`, `version`, `type`, `schemaVersion`,
 * `timestampMs` and the body's JSON text, in that order, each followed by `\n`.
 *
 * @param fact The fact as stored.
 * @returns An unsigned 32-bit integer.
 *
 * @example The checksum changes with any field
 * ```ts
 * import { factChecksum } from "./fact_checksum.ts";
 * const fact = { position: 1, stream: "s", version: 1, type: "Made", schemaVersion: 1,
 *   timestampMs: 0, bodyJson: "{}" };
 * console.log(factChecksum(fact) !== factChecksum({ ...fact, position: 2 })); // true
 * ```
 */
export function factChecksum(fact: ChecksummedFact): number {
  return crc32(
    `${fact.position}\n${fact.stream}\n${fact.version}\n${fact.type}\n${fact.schemaVersion}\n${fact.timestampMs}\n${fact.bodyJson}\n`,
  );
}

/**
 * The checksum {@linkcode factChecksum} gives, from the CRC-32 and UTF-8 length of the body's JSON
 * text computed beforehand (on the thread that encoded it), so the main loop does not pass over a
 * large body again.
 *
 * @param fact The fact's fields but its body.
 * @param body The CRC-32 of the body's JSON text (as UTF-8) and its length in bytes.
 *
 * @example The same checksum as from the text
 * ```ts
 * import { crc32 } from "node:zlib";
 * import { factChecksum, factChecksumOfBody } from "./fact_checksum.ts";
 * const fact = { position: 1, stream: "s", version: 1, type: "Made", schemaVersion: 1, timestampMs: 0 };
 * const bodyJson = '{"name":"vm"}';
 * console.log(
 *   factChecksumOfBody(fact, { crc: crc32(bodyJson), bytes: bodyJson.length }) ===
 *     factChecksum({ ...fact, bodyJson }),
 * ); // true
 * ```
 */
export function factChecksumOfBody(
  fact: Omit<ChecksummedFact, "bodyJson">,
  body: { crc: number; bytes: number },
): number {
  const head = crc32(
    `${fact.position}\n${fact.stream}\n${fact.version}\n${fact.type}\n${fact.schemaVersion}\n${fact.timestampMs}\n`,
  );
  return crc32("\n", crc32Combine(head, body.crc, body.bytes));
}

/**
 * The CRC-32 of two byte strings one after the other, from the CRC-32 of each and the second's
 * length: zlib's `crc32_combine` (multiplying by x^(8·len2) modulo the polynomial, by repeated
 * squaring of the one-zero-bit operator), a few microseconds whatever the lengths.
 *
 * @example
 * ```ts
 * import { crc32 } from "node:zlib";
 * import { crc32Combine } from "./fact_checksum.ts";
 * console.log(crc32Combine(crc32("ab"), crc32("cd"), 2) === crc32("abcd")); // true
 * ```
 */
export function crc32Combine(crc1: number, crc2: number, len2: number): number {
  // An empty second string has CRC 0 and changes nothing.
  if (len2 <= 0) return crc1 >>> 0;
  let odd: Uint32Array = new Uint32Array(32);
  // The operator for one zero bit: the reflected polynomial, then shifts.
  odd[0] = 0xedb88320;
  for (let n = 1, row = 1; n < 32; n++, row <<= 1) odd[n] = row;
  let even: Uint32Array = gf2Square(odd); // two zero bits
  odd = gf2Square(even); // four zero bits
  let crc = crc1 >>> 0;
  let length = len2;
  // Each step squares the operator (one byte, two, four, …) and applies it where `length` has a bit.
  for (;;) {
    even = gf2Square(odd);
    if (length % 2 === 1) crc = gf2Times(even, crc);
    length = Math.floor(length / 2);
    if (length === 0) break;
    odd = gf2Square(even);
    if (length % 2 === 1) crc = gf2Times(odd, crc);
    length = Math.floor(length / 2);
    if (length === 0) break;
  }
  return (crc ^ crc2) >>> 0;
}

function gf2Times(matrix: Uint32Array, vector: number): number {
  let sum = 0;
  for (let index = 0, rest = vector >>> 0; rest !== 0; index++, rest >>>= 1) {
    if (rest & 1) sum ^= matrix[index];
  }
  return sum >>> 0;
}

function gf2Square(matrix: Uint32Array): Uint32Array {
  const square = new Uint32Array(32);
  for (let n = 0; n < 32; n++) square[n] = gf2Times(matrix, matrix[n]);
  return square;
}

/**
 * The checksum of a snapshot: CRC-32 of `position`, `timestampMs` and the state's JSON text, each
 * followed by `\n`.
 *
 * @param snapshot The snapshot as stored.
 * @returns An unsigned 32-bit integer.
 *
 * @example
 * ```ts
 * import { snapshotChecksum } from "./fact_checksum.ts";
 * console.log(snapshotChecksum({ position: 0, timestampMs: 0, stateJson: "{}" }) >= 0); // true
 * ```
 */
export function snapshotChecksum(snapshot: Omit<StoredSnapshot, "checksum">): number {
  return crc32(`${snapshot.position}\n${snapshot.timestampMs}\n${snapshot.stateJson}\n`);
}

/**
 * A checksum as people read it in messages: `0x` and eight hex digits.
 *
 * @example
 * ```ts
 * import { checksumText } from "./fact_checksum.ts";
 * console.log(checksumText(255)); // "0x000000ff"
 * ```
 */
export function checksumText(checksum: number): string {
  return `0x${(checksum >>> 0).toString(16).padStart(8, "0")}`;
}
