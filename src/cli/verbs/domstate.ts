/**
 * `domstate`: a domain's state, with `--reason` its reason.
 *
 * @module
 */

import type { VerbArguments } from "../arguments.ts";
import { domainCommand } from "../command_failure.ts";
import { formatDomainState } from "../layouts.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";

/**
 * The `domstate` verb.
 *
 * @example
 * ```sh
 * evirt -c test:///default domstate test --reason   # running (booted)
 * ```
 */
export const domstateVerb: Verb = {
  name: "domstate",
  summary: "domain state",
  json: true,
  options: [DOMAIN_OPTION, {
    name: "reason",
    kind: "bool",
    help: "also print reason for the state",
  }],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const state = await domainCommand(reference, undefined, () => context.client.state(reference));
    if (args.flag("json")) context.json(state);
    else context.print(formatDomainState(state, args.flag("reason")));
  },
};
