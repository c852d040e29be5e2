/**
 * What the crash test writes, computable again by the checker: each fact's body is a function of
 * its stream and version, so a torn or mixed-up record cannot go unnoticed.
 *
 * @module
 */

import type { JsonValue } from "../../../src/log/event_store.ts";

/**
 * The body of version `version` of `stream`, written by the call `group` that appended
 * `groupSize` facts at once; pad sizes vary so records straddle database pages.
 */
export function crashFactBody(
  stream: string,
  version: number,
  group: string,
  groupSize: number,
): JsonValue {
  const padLength = (version * 7919 + stream.length * 104729) % 3000;
  const pad = "abcdefghij".repeat(padLength / 10 + 1).slice(0, padLength);
  return { stream, version, group, groupSize, pad };
}
