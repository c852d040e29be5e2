/**
 * The `compile` task: builds the single `evirt` binary with `deno compile` and proves it works.
 *
 * `deno compile` downloads its runtime (`denort`) unless `DENORT_BIN` names one. Where that
 * download is impossible, or `DENORT_BIN` points at something that is not a real runtime (the
 * plain `deno` binary gives a REPL instead of evirt), the task fails with a clear message and
 * leaves no binary behind: a binary is only reported once `./evirt --version` has answered.
 *
 * @module
 */

import { removeIfPresent } from "../net/stale_socket.ts";
import { VERSION } from "../model/version.ts";

const OUTPUT = "evirt";
const ENTRY = "src/cli/main.ts";
/** Worker modules are loaded by URL at run time: the compiler must be told to embed them. */
const WORKERS = [
  "src/api/definition_worker.ts",
  "drivers/qemu/dry_build_worker.ts",
  "src/storage/pool_scan_worker.ts",
];
/** How long the built binary may take to answer `--version` before it is judged broken. */
const VERSION_TIMEOUT_MS = 10_000;
/**
 * Deno gates `/proc` (process state, host facts) behind all permissions, and the service spawns
 * QEMU anyway: it needs all of them, as root-equivalent software honestly does.
 */
const PERMISSIONS = ["--allow-all"];

/**
 * The `deno compile` arguments that build evirt into `output` (run from the repository root);
 * the web console's binary test builds with the same.
 *
 * @example
 * ```ts
 * import { compileArgs } from "./compile.ts";
 * console.log(compileArgs("evirt").at(-1)); // "src/cli/main.ts"
 * ```
 */
export function compileArgs(output: string): string[] {
  return [
    "compile",
    ...PERMISSIONS,
    ...WORKERS.flatMap((worker) => ["--include", worker]),
    "--output",
    output,
    ENTRY,
  ];
}

async function run(): Promise<number> {
  const temporary = `${OUTPUT}.tmp`;
  await removeIfPresent(temporary);
  const compile = await new Deno.Command(Deno.execPath(), {
    args: compileArgs(temporary),
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!compile.success) {
    await removeIfPresent(temporary);
    console.error(
      "compile: error: deno compile could not build evirt. It downloads its runtime (denort) " +
        "from the internet; where that is not reachable, set DENORT_BIN to a denort binary of " +
        `Deno ${Deno.version.deno}.`,
    );
    return 1;
  }
  const answer = await versionOf(`./${temporary}`);
  if (answer !== VERSION) {
    await removeIfPresent(temporary);
    console.error(
      `compile: error: the built binary did not answer 'evirt --version' (got ${
        JSON.stringify(answer.slice(0, 200))
      }). DENORT_BIN must name a denort runtime, not the deno CLI (which starts a REPL). ` +
        "No binary was produced.",
    );
    return 1;
  }
  await Deno.rename(temporary, OUTPUT);
  console.log(`compile: built ./${OUTPUT}; './${OUTPUT} --version' answered: ${answer}`);
  return 0;
}

async function versionOf(binary: string): Promise<string> {
  const child = new Deno.Command(binary, {
    args: ["--version"],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // already exited
    }
  }, VERSION_TIMEOUT_MS);
  try {
    const output = await child.output();
    return new TextDecoder().decode(output.stdout).trim();
  } finally {
    clearTimeout(timer);
  }
}

if (import.meta.main) Deno.exit(await run());
