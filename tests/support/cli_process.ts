/**
 * Runs the real CLI (`src/cli/main.ts`) in a child process, as `deno task evirt` does.
 *
 * @module
 */

import { repoDir } from "./environment.ts";

/** How long one CLI child may take before the test fails, in ms. */
export const CLI_TIMEOUT_MS = 30_000;

/** The CLI's entry point. */
export const CLI_PATH = `${repoDir}/src/cli/main.ts`;

/** What a CLI run printed and how it ended. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `evirt ARGS` with `env` (on top of an empty `EVIRT_DEFAULT_URI`, so the caller decides).
 */
export async function runEvirt(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", CLI_PATH, ...args],
    env: { EVIRT_DEFAULT_URI: "", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(CLI_TIMEOUT_MS),
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}
