/**
 * `version`: the CLI's, the API's and the hypervisors' versions, in virsh's layout.
 *
 * @module
 */

import { VERSION } from "../../model/version.ts";
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
  // The client's own version needs no service: without one, print it and warn, as virsh prints
  // its library lines before it fails to reach a hypervisor.
  connectionOptional: true,
  async run(context: VerbContext, args: VerbArguments) {
    if (!context.hasConnection) {
      const offline = { evirt: VERSION, api: "v1", hypervisors: [] };
      if (args.flag("json")) context.json(offline);
      else context.print(formatVersion(VERSION, offline, false).replace(/Using API:.*\n/, ""));
      return;
    }
    const view = await context.client.version();
    if (args.flag("json")) context.json(view);
    else context.print(formatVersion(VERSION, view, args.flag("daemon")));
  },
};
