/**
 * `domiflist`: a domain's interfaces in virsh's table (Interface, Type, Source, Model, MAC).
 *
 * @module
 */

import type { VerbArguments } from "../arguments.ts";
import { domainCommand } from "../command_failure.ts";
import { formatTable } from "../layouts.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";

/**
 * The `domiflist` verb.
 *
 * @example
 * ```sh
 * evirt -c test:///default domiflist test
 * ```
 */
export const domiflistVerb: Verb = {
  name: "domiflist",
  summary: "list all domain virtual interfaces",
  json: true,
  options: [
    DOMAIN_OPTION,
    { name: "inactive", kind: "bool", help: "get inactive rather than running configuration" },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const view = await domainCommand(
      reference,
      undefined,
      () => context.client.interfaceList(reference, { inactive: args.flag("inactive") }),
    );
    if (args.flag("json")) {
      context.json(view);
      return;
    }
    const rows = view.interfaces.map((row) => [
      row.interface,
      row.type,
      row.source,
      row.model,
      row.mac,
    ]);
    context.print(
      formatTable(["Interface", "Type", "Source", "Model", "MAC"], rows, !context.quiet),
    );
  },
};
