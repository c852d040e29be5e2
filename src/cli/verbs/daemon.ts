/**
 * `daemon`: runs the service in the foreground, as `deno task start` does, so the installed
 * `evirt` command (and the single compiled binary) is both the CLI and the service.
 *
 * @module
 */

import { main } from "../../service/main.ts";
import { SERVICE_HELP } from "../../service/service_help.ts";
import type { VerbArguments } from "../arguments.ts";
import type { Verb, VerbContext, VerbOutcome } from "../verb.ts";

/**
 * The `daemon` verb.
 *
 * @example
 * ```sh
 * evirt daemon          # until SIGTERM or SIGINT
 * evirt daemon --help   # prints the help, starts nothing
 * ```
 */
export const daemonVerb: Verb = {
  name: "daemon",
  summary: "run the evirt service in the foreground (as `deno task start`)",
  description: SERVICE_HELP,
  offline: true,
  options: [
    { name: "config", kind: "string", help: "the configuration file (default: $EVIRT_CONFIG)" },
  ],
  async run(_context: VerbContext, args: VerbArguments): Promise<VerbOutcome> {
    const file = args.text("config");
    return { exitCode: await main(file === undefined ? [] : ["--config", file]) };
  },
};
