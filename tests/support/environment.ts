/**
 * What tests may depend on outside the repository, and how a test that cannot run here is
 * registered: with Deno's `ignore` option and a one-line reason, so it counts as skipped,
 * never as passed.
 *
 * @module
 */

import { findCommand } from "../../src/service/find_command.ts";

const REPO_DIR = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

/** The repository root, absolute, without a trailing slash. */
export const repoDir: string = REPO_DIR;

/** The ignored cache folder for build artefacts (test guest, images), inside the repository. */
export const cacheDir: string = `${REPO_DIR}/.cache`;

/** `../shared`, or `EVIRT_SHARED_DIR` when set: the only outside path tests may read. */
export const sharedDir: string = Deno.env.get("EVIRT_SHARED_DIR") ||
  `${REPO_DIR.replace(/\/[^/]+$/, "")}/shared`;

/** libvirt's test corpus inside {@linkcode sharedDir}. */
export const corpusDir: string = `${sharedDir}/corpus/libvirt`;

/** Whether `path` exists (any kind). */
export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

export { findCommand } from "../../src/service/find_command.ts";

/**
 * The reason a test cannot run here, or undefined when every requirement is met.
 *
 * @param requirements Commands that must be on PATH (`"qemu-img"`) and paths that must exist
 *   (anything containing a `/`).
 */
export function missing(...requirements: string[]): string | undefined {
  const absent = requirements.filter((requirement) =>
    requirement.includes("/") ? !exists(requirement) : findCommand(requirement) === undefined
  );
  if (absent.length === 0) return undefined;
  return `needs ${absent.join(", ")}`;
}

const announced = new Set<string>();

/**
 * Registers a test that is skipped (counted as ignored) with a printed reason when `skipReason`
 * is defined.
 *
 * @param name The test name.
 * @param skipReason Why it cannot run here, from {@linkcode missing}; undefined to run it.
 * @param fn The test body.
 * @param options Extra `Deno.test` options (sanitizers).
 */
export function testIf(
  name: string,
  skipReason: string | undefined,
  fn: (t: Deno.TestContext) => void | Promise<void>,
  options: Omit<Deno.TestDefinition, "name" | "fn" | "ignore"> = {},
): void {
  if (skipReason !== undefined && !announced.has(`${name}\0${skipReason}`)) {
    announced.add(`${name}\0${skipReason}`);
    console.error(`skip: ${name}: ${skipReason}`);
  }
  Deno.test({ ...options, name, ignore: skipReason !== undefined, fn });
}
