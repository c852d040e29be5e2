/**
 * The `evirt` command: virsh's verbs against an evirt connection (`deno task evirt <verb>`).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { ConfigError, loadProcessConfig, validateUri } from "./config.ts";
import { VERSION } from "./version.ts";

/** Exit status for success, as virsh. */
const EXIT_OK = 0;
/** Exit status for any failure, as virsh. */
const EXIT_FAILURE = 1;

const USAGE = `usage: evirt [-c URI] [-r] <command> [args]

commands:
  version     print the evirt version
  uri         print the connection URI
  help        print this help
`;

/**
 * Runs one CLI invocation.
 *
 * @param args The command-line arguments after the program name.
 * @returns The process exit code.
 */
export function runCli(args: string[]): number {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        connect: { type: "string", short: "c" },
        readonly: { type: "boolean", short: "r" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    console.error(`error: ${(error as Error).message}`);
    return EXIT_FAILURE;
  }
  const [verb = "help"] = parsed.positionals;
  if (parsed.values.help || verb === "help") {
    console.log(USAGE);
    return EXIT_OK;
  }
  try {
    switch (verb) {
      case "version":
        console.log(`evirt ${VERSION}\n`);
        return EXIT_OK;
      case "uri": {
        const uri = parsed.values.connect === undefined
          ? loadProcessConfig().config.defaultUri
          : validateUri("-c", parsed.values.connect);
        console.log(`${uri}\n`);
        return EXIT_OK;
      }
      default:
        console.error(`error: unknown command: '${verb}'`);
        return EXIT_FAILURE;
    }
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`error: ${error.message}`);
      return EXIT_FAILURE;
    }
    throw error;
  }
}

if (import.meta.main) Deno.exit(runCli(Deno.args));
