/**
 * The tests' one seeded random source (mulberry32): small, fast and deterministic, so a fuzz or
 * crash run that fails can be repeated from the seed it prints.
 *
 * @module
 */

/**
 * A generator of numbers in [0, 1) that repeats exactly for the same `seed` (taken as 32 bits).
 *
 * @example
 * ```ts
 * import { seededRandom } from "./seeded_random.ts";
 * const next = seededRandom(12);
 * console.log(next() === seededRandom(12)()); // true
 * ```
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}
