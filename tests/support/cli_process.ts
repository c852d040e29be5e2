/**
 * Runs the real CLI (`src/cli/main.ts`) in a child process, as `deno task evirt` does.
 *
 * @module
 */

import { type ChildRun, runChild } from "./child_process.ts";
import { repoDir } from "./environment.ts";
import type { ServiceProcess } from "./service_process.ts";

/** How long one CLI child may take before the test fails, in ms. */
export const CLI_TIMEOUT_MS = 30_000;

/** The CLI's entry point. */
export const CLI_PATH = `${repoDir}/src/cli/main.ts`;

/** What a CLI run printed and how it ended. */
export type CliRun = ChildRun;

/**
 * Runs `evirt ARGS` with `env` (on top of an empty `EVIRT_DEFAULT_URI`, so the caller decides).
 */
export function runEvirt(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return runChild(
    Deno.execPath(),
    ["run", "--allow-all", CLI_PATH, ...args],
    { EVIRT_DEFAULT_URI: "", ...env },
    CLI_TIMEOUT_MS,
  );
}

/** Runs `evirt ARGS` on `service` (over its HTTP API, `evirt:///system` on its folders). */
export function evirtOn(service: ServiceProcess, args: string[]): Promise<CliRun> {
  return runEvirt(args, { ...service.env, EVIRT_DEFAULT_URI: "evirt:///system" });
}
