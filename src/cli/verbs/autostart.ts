/**
 * `autostart`: marks a domain to start when the host boots (`--disable` unmarks it).
 *
 * @module
 */

import type { VerbArguments } from "../arguments.ts";
import { domainCommand } from "../command_failure.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";

/**
 * The `autostart` verb.
 *
 * @example
 * ```sh
 * evirt autostart web   # Domain 'web' marked as autostarted
 * ```
 */
export const autostartVerb: Verb = {
  name: "autostart",
  summary: "autostart a domain",
  options: [DOMAIN_OPTION, { name: "disable", kind: "bool", help: "disable autostarting" }],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const enable = !args.flag("disable");
    const info = await domainCommand(reference, undefined, () => context.client.info(reference));
    const verb = enable ? "mark" : "unmark";
    const summary = await domainCommand(
      reference,
      `Failed to ${verb} domain '${info.name}' as autostarted`,
      () => context.client.setAutostart(info.uuid, enable),
    );
    context.printExtra(`Domain '${summary.name}' ${verb}ed as autostarted\n`);
  },
};
