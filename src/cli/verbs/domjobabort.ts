/**
 * `domjobabort`: cancels the domain's outgoing live migration or save under way; its own call
 * then fails (code 78) and the guest runs on here.
 *
 * @module
 */

import { SaveClient } from "../../client/save_client.ts";
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
    await domainCommand(
      reference,
      undefined,
      () => new SaveClient(context.client).abortJob(reference),
    );
  },
};
