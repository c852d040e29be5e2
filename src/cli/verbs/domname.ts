/**
 * `domname`: a domain's name from its id or uuid.
 *
 * @module
 */

import type { VerbArguments } from "../arguments.ts";
import { domainCommand } from "../command_failure.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";

/**
 * The `domname` verb.
 *
 * @example
 * ```sh
 * evirt -c test:///default domname 1   # test
 * ```
 */
export const domnameVerb: Verb = {
  name: "domname",
  summary: "convert a domain id or UUID to domain name",
  json: true,
  options: [{ ...DOMAIN_OPTION, help: "domain id or uuid" }],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const info = await domainCommand(reference, undefined, () => context.client.info(reference));
    if (args.flag("json")) context.json(info);
    else context.print(`${info.name}\n`);
  },
};
