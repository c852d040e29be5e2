/**
 * `domid`: a domain's id (`-` when it is not running).
 *
 * @module
 */

import type { VerbArguments } from "../arguments.ts";
import { domainCommand } from "../command_failure.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";

/**
 * The `domid` verb.
 *
 * @example
 * ```sh
 * evirt -c test:///default domid test   # 1
 * ```
 */
export const domidVerb: Verb = {
  name: "domid",
  summary: "convert a domain name or UUID to domain id",
  json: true,
  options: [{ ...DOMAIN_OPTION, help: "domain name or uuid" }],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const info = await domainCommand(reference, undefined, () => context.client.info(reference));
    if (args.flag("json")) context.json(info);
    else context.print(`${info.id === null ? "-" : info.id}\n`);
  },
};
