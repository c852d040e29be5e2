/**
 * The shared runner of the native-format corpus tests (VMX, bhyve): each case converted, its
 * result compared with libvirt's or its refusal matched with libvirt's, and a tally printed as
 * the issue asks: cases, equal, rejected as libvirt rejects, differing (listed).
 *
 * @module
 */

import { VirtError } from "../../src/model/errors.ts";
import { exists } from "../support/environment.ts";

/** The outcome of a corpus run. */
export interface Tally {
  cases: number;
  equal: string[];
  rejected: string[];
  differing: string[];
}

/** The case names in `folder`: files ending `suffix`, without it, sorted. */
export function names(folder: string, suffix: string): string[] {
  return [...Deno.readDirSync(folder)].map((entry) => entry.name)
    .filter((name) => name.endsWith(suffix)).map((name) => name.slice(0, -suffix.length)).sort();
}

/**
 * Runs every case: `expected` is libvirt's output (undefined: libvirt refuses the input),
 * `convert` evirt's, `compare` says where they differ. Prints and returns the tally.
 */
export function runCases(
  direction: string,
  cases: string[],
  expected: (name: string) => string | undefined,
  convert: (name: string, expected: string | undefined) => string,
  compare: (expected: string, actual: string) => string | undefined,
): Tally {
  const tally: Tally = { cases: cases.length, equal: [], rejected: [], differing: [] };
  for (const name of cases) {
    const want = expected(name);
    let got: string;
    try {
      got = convert(name, want);
    } catch (error) {
      if (!(error instanceof VirtError)) throw error;
      if (want === undefined) tally.rejected.push(`${name} (${error.message})`);
      else tally.differing.push(`${name}: refused (${error.message})`);
      continue;
    }
    const difference = want === undefined ? "accepted, libvirt refuses it" : compare(want, got);
    if (difference === undefined) tally.equal.push(name);
    else tally.differing.push(`${name}: ${difference}`);
  }
  console.log(
    `${direction}: ${tally.cases} cases, ${tally.equal.length} equal, ${tally.rejected.length} ` +
      `rejected as libvirt rejects, ${tally.differing.length} differing`,
  );
  for (const line of tally.rejected) console.log(`  rejected: ${line}`);
  for (const line of tally.differing) console.log(`  differing: ${line}`);
  return tally;
}

/** The text of `path`, or undefined when there is no such file. */
export function readIfPresent(path: string): string | undefined {
  return exists(path) ? Deno.readTextFileSync(path) : undefined;
}

/** The first line where two texts differ. */
export function lineDifference(expected: string, actual: string): string | undefined {
  if (expected === actual) return undefined;
  const got = actual.split("\n");
  const want = expected.split("\n");
  const line = got.findIndex((each, index) => each !== want[index]);
  return `line ${line + 1} '${got[line]}' instead of '${want[line]}'`;
}
