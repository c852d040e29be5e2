/**
 * `dominfo`: a domain's basic information in virsh's layout.
 *
 * @module
 */

import type { VerbArguments } from "../arguments.ts";
import { domainCommand } from "../command_failure.ts";
import { formatDomainInfo } from "../layouts.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";

/**
 * The `dominfo` verb.
 *
 * @example
 * ```sh
 * evirt -c test:///default dominfo test
 * ```
 */
export const dominfoVerb: Verb = {
  name: "dominfo",
  summary: "domain information",
  json: true,
  options: [DOMAIN_OPTION],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const info = await domainCommand(reference, undefined, () => context.client.info(reference));
    if (args.flag("json")) context.json(info);
    else context.print(formatDomainInfo(info));
  },
};
