/**
 * `domblklist`: a domain's disks in virsh's table.
 *
 * @module
 */

import type { VerbArguments } from "../arguments.ts";
import { domainCommand } from "../command_failure.ts";
import { formatBlockList } from "../stats_layouts.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";

/**
 * The `domblklist` verb.
 *
 * @example
 * ```sh
 * evirt -c test:///default domblklist test --details
 * ```
 */
export const domblklistVerb: Verb = {
  name: "domblklist",
  summary: "list all domain blocks",
  json: true,
  options: [
    DOMAIN_OPTION,
    { name: "inactive", kind: "bool", help: "get inactive rather than running configuration" },
    { name: "details", kind: "bool", help: "additionally display the type and device value" },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const view = await domainCommand(
      reference,
      undefined,
      () => context.client.blockList(reference, { inactive: args.flag("inactive") }),
    );
    if (args.flag("json")) context.json(view);
    else context.print(formatBlockList(view.disks, args.flag("details"), context.quiet));
  },
};
