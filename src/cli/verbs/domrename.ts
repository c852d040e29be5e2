/**
 * `domrename`: renames an inactive persistent domain.
 *
 * @module
 */

import type { VerbArguments } from "../arguments.ts";
import { domainCommand } from "../command_failure.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";

/**
 * The `domrename` verb.
 *
 * @example
 * ```sh
 * evirt domrename web web-old   # Domain successfully renamed
 * ```
 */
export const domrenameVerb: Verb = {
  name: "domrename",
  summary: "rename a domain",
  options: [
    DOMAIN_OPTION,
    {
      name: "new-name",
      kind: "string",
      positional: true,
      required: true,
      help: "new domain name",
    },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const newName = args.required("new-name");
    await domainCommand(reference, undefined, () => context.client.rename(reference, newName));
    context.printExtra("Domain successfully renamed\n");
  },
};
