/**
 * libvirt 9.0's own test driver as the oracle of a test: the real `virsh -c test:///default`
 * (the driver runs in virsh's process, no daemon) on a command string, and the comparison of
 * evirt's answers to its answers over a list of command strings, every difference reported at
 * once. The one set-up behind the test-driver parity tests, whichever way evirt is reached (its
 * CLI in process, or the real virsh over evirt's libvirt socket).
 *
 * @module
 */

import assert from "node:assert/strict";
import { type ChildRun, runChild } from "./child_process.ts";
import { runFresh } from "../src/cli/_cli_harness.ts";
import { missing } from "./environment.ts";

/** How long one run of libvirt's virsh may take, in ms. */
export const TEST_DRIVER_VIRSH_TIMEOUT_MS = 20_000;

/** How long one run of libvirt's virsh may take, and how many runs a hanging one gets. */
export interface TestDriverRuns {
  /** Default 20 s. */
  timeoutMs?: number;
  /** Default 2. */
  tries?: number;
}

/**
 * For a `save` or `managedsave`: libvirt 9.0's virsh never returns from one there about half the
 * time (its job-watching loop; with `--verbose` it almost always does), so short runs, tried
 * more often.
 */
export const SAVE_RUNS: TestDriverRuns = { timeoutMs: 6_000, tries: 6 };

/**
 * `virsh -c test:///default COMMANDS` in the C locale, with `env` on top. libvirt 9.0's virsh now
 * and then never returns (see {@linkcode SAVE_RUNS}), so a run the timeout killed (code above
 * 127) is tried again, a bounded number of times; the last run is answered whatever it was.
 */
export async function testDriverVirsh(
  commands: string,
  env: Record<string, string> = {},
  runs: TestDriverRuns = {},
): Promise<ChildRun> {
  const tries = runs.tries ?? 2;
  let run: ChildRun | undefined;
  for (let attempt = 0; attempt < tries; attempt++) {
    run = await runChild(
      "virsh",
      ["-c", "test:///default", commands],
      { LC_ALL: "C", LANG: "C", ...env },
      runs.timeoutMs ?? TEST_DRIVER_VIRSH_TIMEOUT_MS,
    );
    if (run.code <= 127) return run;
  }
  return run!;
}

/** `evirt -c test:///default COMMANDS` in process, with no default URI, as a user types it. */
export function evirtTestDriver(
  commands: string,
  env: Record<string, string | undefined> = {},
): Promise<ChildRun> {
  return runFresh(["-c", "test:///default", commands], { EVIRT_DEFAULT_URI: undefined, ...env });
}

/** What a comparison looks at of one answer (default: all of it). */
export type Normalize = (run: ChildRun) => unknown;

/** Options of {@linkcode assertSameAsTestDriver}. */
export interface SameAsTestDriverOptions {
  /** Applied to both answers before they are compared. */
  normal?: Normalize;
  /** Variables for both sides (e.g. `TZ`, `EDITOR`). */
  env?: Record<string, string>;
}

/**
 * Asserts that every command string gives the same answer (stdout, stderr, exit code, after
 * `normal`) from `evirt` as from libvirt's test driver; every difference is listed in the one
 * failure.
 */
export async function assertSameAsTestDriver(
  sequences: readonly string[],
  evirt: (sequence: string) => Promise<ChildRun>,
  options: SameAsTestDriverOptions = {},
): Promise<void> {
  const normal = options.normal ?? ((run: ChildRun) => run);
  const differences: string[] = [];
  for (const sequence of sequences) {
    const expected = await testDriverVirsh(sequence, options.env);
    const actual = await evirt(sequence);
    try {
      assert.deepEqual(normal(actual), normal(expected));
    } catch (error) {
      differences.push(`${sequence}\n${(error as Error).message}`);
    }
  }
  assert.equal(differences.length, 0, differences.join("\n\n"));
}

/** An answer without the lines `drop` matches in its stdout (figures of the wall clock). */
export function withoutLines(drop: RegExp): Normalize {
  return (run) => ({
    ...run,
    stdout: run.stdout.split("\n").filter((line) => !drop.test(line)).join("\n"),
  });
}

/** `dominfo`'s CPU time: the wall clock in libvirt's test driver. */
export const CPU_TIME_LINE = /^CPU time:/;

/**
 * Whether the tests that ask libvirt's test driver must be skipped here (no `virsh`); says why
 * once, for the file that asks.
 */
export function testDriverAbsent(): boolean {
  const reason = missing("virsh");
  if (reason !== undefined) {
    console.log(`skipped: libvirt's test driver ${reason} (libvirt-clients)`);
  }
  return reason !== undefined;
}
