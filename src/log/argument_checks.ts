/**
 * The checks every store applies to its callers' arguments before changing anything, so bad input
 * gets the same typed error from every store.
 *
 * @module
 */

import { EventStoreArgumentError } from "./errors.ts";
import {
  type AppendRequest,
  FACT_BODY_MAX_BYTES,
  FACT_TYPE_MAX_BYTES,
  FACTS_PER_APPEND_MAX,
  type JsonValue,
  READ_LIMIT_MAX,
  type RetentionPolicy,
  SCHEMA_VERSION_MAX,
  STREAM_NAME_MAX_BYTES,
} from "./event_store.ts";
import { encodeJson, utf8Length } from "./json_text.ts";
import type { JsonText } from "./json_pieces.ts";
import type { Upcasting } from "./upcasting.ts";

/** A fact checked and encoded, waiting for its position. */
export interface PreparedFact {
  /** The fact type, checked. */
  type: string;
  /** The schema version, resolved to the current one when the caller gave none. */
  schemaVersion: number;
  /**
   * The body as JSON text, checked against the size limit: pieces only when a remembered text
   * in pieces gave it (then `bodyKnown` is set).
   */
  bodyJson: JsonText;
  /** The body as the caller gave it (JSON data, checked): the log's live tail serves it. */
  body: JsonValue;
  /** The JSON text's UTF-8 length and CRC-32, when a remembered text gave them (json_text.ts). */
  bodyKnown?: { bytes: number; crc: number };
}

/** One stream's checked request. */
export interface PreparedRequest {
  /** The stream, checked. */
  stream: string;
  /** The expected version, -1 for "any". */
  expectedVersion: number;
  /** The facts, in order. */
  facts: PreparedFact[];
}

const FACT_TYPE_PATTERN = /^[A-Za-z][A-Za-z0-9_.:-]*$/;
// deno-lint-ignore no-control-regex
const CONTROL_CHARACTER_PATTERN = /[\u0000-\u001f\u007f]/;

/**
 * Checks and encodes append requests.
 *
 * @param requests The requests, as the caller gave them.
 * @param upcasting Knows each type's current schema version.
 * @returns The requests with encoded bodies and resolved schema versions.
 * @throws {EventStoreArgumentError} For the first invalid argument, named in `where`.
 *
 * @example
 * ```ts
 * import { prepareAppend } from "./argument_checks.ts";
 * import { Upcasting } from "./upcasting.ts";
 * const [request] = prepareAppend(
 *   [{ stream: "s", facts: [{ type: "Made", body: {} }], expectedVersion: "any" }],
 *   new Upcasting(),
 * );
 * console.log(request.facts[0].bodyJson); // "{}"
 * ```
 */
export function prepareAppend(
  requests: readonly AppendRequest[],
  upcasting: Upcasting,
): PreparedRequest[] {
  if (!Array.isArray(requests) || requests.length === 0) {
    throw new EventStoreArgumentError("requests", "requests must be a non-empty array");
  }
  let total = 0;
  const prepared = requests.map((request, index) => {
    const where = requests.length === 1 ? "" : `requests[${index}].`;
    if (typeof request !== "object" || request === null) {
      throw new EventStoreArgumentError(`requests[${index}]`, "request must be an object");
    }
    checkStreamName(request.stream, `${where}stream`);
    const expectedVersion = checkExpectedVersion(
      request.expectedVersion,
      `${where}expectedVersion`,
    );
    if (!Array.isArray(request.facts) || request.facts.length === 0) {
      throw new EventStoreArgumentError(`${where}facts`, "facts must be a non-empty array");
    }
    total += request.facts.length;
    if (total > FACTS_PER_APPEND_MAX) {
      throw new EventStoreArgumentError(
        `${where}facts`,
        `too many facts in one append: at most ${FACTS_PER_APPEND_MAX} allowed`,
      );
    }
    const facts = request.facts.map((fact: unknown, factIndex: number) =>
      prepareFact(fact, `${where}facts[${factIndex}]`, upcasting)
    );
    return { stream: request.stream, expectedVersion, facts };
  });
  return prepared;
}

function prepareFact(fact: unknown, where: string, upcasting: Upcasting): PreparedFact {
  if (typeof fact !== "object" || fact === null) {
    throw new EventStoreArgumentError(where, `${where} must be an object`);
  }
  const { type, body, schemaVersion } = fact as Record<string, unknown>;
  if (
    typeof type !== "string" || !FACT_TYPE_PATTERN.test(type) ||
    utf8Length(type) > FACT_TYPE_MAX_BYTES
  ) {
    throw new EventStoreArgumentError(
      `${where}.type`,
      `invalid fact type '${
        String(type)
      }': expected a letter, then letters, digits, '_', '.', ':' or '-', at most ${FACT_TYPE_MAX_BYTES} bytes`,
    );
  }
  const current = upcasting.currentVersion(type);
  let version = current;
  if (schemaVersion !== undefined) {
    version = checkInteger(schemaVersion, `${where}.schemaVersion`, 1, SCHEMA_VERSION_MAX);
    if (version > current) {
      throw new EventStoreArgumentError(
        `${where}.schemaVersion`,
        `schema version ${version} of fact type '${type}' is newer than the current ${current}`,
      );
    }
  }
  const encoded = encodeJson(body, `${where}.body`, FACT_BODY_MAX_BYTES);
  return {
    type,
    schemaVersion: version,
    bodyJson: encoded.text,
    body: body as JsonValue,
    ...(encoded.known === undefined ? {} : { bodyKnown: encoded.known }),
  };
}

/**
 * Checks a stream name: a string of 1 to {@linkcode STREAM_NAME_MAX_BYTES} UTF-8 bytes without
 * control characters.
 *
 * @throws {EventStoreArgumentError} Otherwise.
 */
export function checkStreamName(stream: unknown, where = "stream"): asserts stream is string {
  if (typeof stream !== "string" || stream.length === 0) {
    throw new EventStoreArgumentError(where, "stream name must be a non-empty string");
  }
  if (utf8Length(stream) > STREAM_NAME_MAX_BYTES) {
    throw new EventStoreArgumentError(
      where,
      `stream name is too long: at most ${STREAM_NAME_MAX_BYTES} bytes allowed`,
    );
  }
  if (CONTROL_CHARACTER_PATTERN.test(stream)) {
    throw new EventStoreArgumentError(where, "stream name must not contain control characters");
  }
}

function checkExpectedVersion(value: unknown, where: string): number {
  if (value === "any") return -1;
  return checkInteger(value, where, 0, Number.MAX_SAFE_INTEGER);
}

/**
 * Checks that `value` is an integer in `[min, max]`.
 *
 * @returns The value.
 * @throws {EventStoreArgumentError} Otherwise, naming `where` and the value.
 */
export function checkInteger(value: unknown, where: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new EventStoreArgumentError(
      where,
      `${where} must be an integer from ${min} to ${max}, got ${String(value)}`,
    );
  }
  return value;
}

/**
 * Checks an optional read limit, 1 to {@linkcode READ_LIMIT_MAX}.
 *
 * @returns The limit, {@linkcode READ_LIMIT_MAX} when absent.
 * @throws {EventStoreArgumentError} When out of range.
 */
export function checkLimit(value: unknown, where = "limit"): number {
  return value === undefined ? READ_LIMIT_MAX : checkInteger(value, where, 1, READ_LIMIT_MAX);
}

/**
 * Checks a retention policy: each field absent or a non-negative integer.
 *
 * @returns A copy with only the known fields.
 * @throws {EventStoreArgumentError} Otherwise.
 */
export function checkRetentionPolicy(policy: unknown, where = "policy"): RetentionPolicy {
  if (typeof policy !== "object" || policy === null) {
    throw new EventStoreArgumentError(where, `${where} must be an object`);
  }
  const { maxAgeMs, keepMax } = policy as Record<string, unknown>;
  const checked: RetentionPolicy = {};
  if (maxAgeMs !== undefined) {
    checked.maxAgeMs = checkInteger(maxAgeMs, `${where}.maxAgeMs`, 0, Number.MAX_SAFE_INTEGER);
  }
  if (keepMax !== undefined) {
    checked.keepMax = checkInteger(keepMax, `${where}.keepMax`, 0, Number.MAX_SAFE_INTEGER);
  }
  return checked;
}
