/**
 * `undefine`: removes a domain's persistent definition (a running domain continues as transient).
 *
 * @module
 */

import type { VerbArguments } from "../arguments.ts";
import { domainCommand } from "../command_failure.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";

/**
 * The `undefine` verb.
 *
 * @example
 * ```sh
 * evirt undefine web   # Domain 'web' has been undefined
 * ```
 */
export const undefineVerb: Verb = {
  name: "undefine",
  summary: "undefine a domain",
  options: [DOMAIN_OPTION],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    // virsh names the domain by its name, so look it up first (also by id or uuid).
    const info = await domainCommand(reference, undefined, () => context.client.info(reference));
    await domainCommand(
      reference,
      `Failed to undefine domain '${info.name}'`,
      () => context.client.undefine(info.uuid),
    );
    context.printExtra(`Domain '${info.name}' has been undefined\n`);
  },
};
