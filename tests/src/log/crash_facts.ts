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

/** A small seeded random generator (mulberry32), so a failing run can be repeated by seed. */
export function crashRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}
