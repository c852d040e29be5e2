/**
 * `ttyconsole`: the pty of a domain's console (`/dev/pts/3`), from its definition (live
 * when it runs), as virsh reads it from the XML.
 * Without one it fails silently, as virsh does.
 *
 * @module
 */

import type { VerbArguments } from "../arguments.ts";
import { domainCommand } from "../command_failure.ts";
import { ttyConsole } from "../display_layouts.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext, type VerbOutcome } from "../verb.ts";

/**
 * The `ttyconsole` verb.
 *
 * @example
 * ```sh
 * evirt ttyconsole guest   # /dev/pts/3
 * ```
 */
export const ttyconsoleVerb: Verb = {
  name: "ttyconsole",
  summary: "tty console",
  options: [DOMAIN_OPTION],
  async run(context: VerbContext, args: VerbArguments): Promise<VerbOutcome | void> {
    const reference = args.required("domain");
    const { definition } = await domainCommand(
      reference,
      undefined,
      () => context.client.definition(reference),
    );
    const tty = ttyConsole(definition);
    if (tty === undefined) return { exitCode: 1 };
    context.print(`${tty}\n`);
  },
};
