/**
 * `version`: the CLI's, the API's and the hypervisors' versions, in virsh's layout.
 *
 * @module
 */

import { VERSION } from "../../version.ts";
import type { VerbArguments } from "../arguments.ts";
import { formatVersion } from "../layouts.ts";
import type { Verb, VerbContext } from "../verb.ts";

/**
 * The `version` verb.
 *
 * @example
 * ```sh
 * evirt -c test:///default version --daemon
 * ```
 */
export const versionVerb: Verb = {
  name: "version",
  summary: "show version",
  json: true,
  options: [{ name: "daemon", kind: "bool", help: "report daemon version too" }],
  async run(context: VerbContext, args: VerbArguments) {
    const view = await context.client.version();
    if (args.flag("json")) context.json(view);
    else context.print(formatVersion(VERSION, view, args.flag("daemon")));
  },
};
