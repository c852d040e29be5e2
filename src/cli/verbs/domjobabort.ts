/**
 * `domjobabort`: cancels a domain's outgoing live migration; the guest runs on where it was.
 *
 * @module
 */

import type { VerbArguments } from "../arguments.ts";
import { domainCommand } from "../command_failure.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";

/**
 * The `domjobabort` verb.
 *
 * @example
 * ```sh
 * evirt domjobabort web
 * ```
 */
export const domjobabortVerb: Verb = {
  name: "domjobabort",
  summary: "abort active domain job",
  options: [DOMAIN_OPTION],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    await domainCommand(reference, undefined, () => context.client.abortJob(reference));
  },
};
