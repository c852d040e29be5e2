/**
 * The error a call failed with, for tests that assert on its code and message.
 *
 * @module
 */

import assert from "node:assert/strict";

/**
 * Awaits `promise` and returns the `Error` it rejected with; fails the test if it resolved or
 * rejected with something that is not an `Error`.
 *
 * @example
 * ```ts
 * import { rejection } from "./rejection.ts";
 * const error = await rejection(Promise.reject(new Error("no")));
 * console.log(error.message); // "no"
 * ```
 */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(() => undefined, (error) => error);
  assert.ok(outcome instanceof Error, "expected the call to fail");
  return outcome;
}
