/**
 * `domuuid`: a domain's uuid from its name or id.
 *
 * @module
 */

import type { VerbArguments } from "../arguments.ts";
import { domainCommand } from "../command_failure.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";

/**
 * The `domuuid` verb.
 *
 * @example
 * ```sh
 * evirt -c test:///default domuuid test   # 6695eb01-f6a4-8304-79aa-97f2502e193f
 * ```
 */
export const domuuidVerb: Verb = {
  name: "domuuid",
  summary: "convert a domain name or id to domain UUID",
  json: true,
  options: [{ ...DOMAIN_OPTION, help: "domain id or name" }],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const info = await domainCommand(reference, undefined, () => context.client.info(reference));
    if (args.flag("json")) context.json(info);
    else context.print(`${info.uuid}\n`);
  },
};
