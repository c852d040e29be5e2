/**
 * `hostname`: the host's name.
 *
 * @module
 */

import type { VerbArguments } from "../arguments.ts";
import type { Verb, VerbContext } from "../verb.ts";

/**
 * The `hostname` verb.
 *
 * @example
 * ```sh
 * evirt hostname
 * ```
 */
export const hostnameVerb: Verb = {
  name: "hostname",
  summary: "print the hypervisor hostname",
  json: true,
  options: [],
  async run(context: VerbContext, args: VerbArguments) {
    const host = await context.client.host();
    if (args.flag("json")) context.json(host);
    else context.print(`${host.hostname}\n`);
  },
};
