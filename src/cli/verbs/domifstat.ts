/**
 * `domifstat`: an interface's counters in the guest's view, from the service's latest samples.
 *
 * @module
 */

import type { VerbArguments } from "../arguments.ts";
import { domainCommand } from "../command_failure.ts";
import { warnIfStale } from "../stale_warning.ts";
import { formatInterfaceStats } from "../stats_layouts.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";

/**
 * The `domifstat` verb.
 *
 * @example
 * ```sh
 * evirt -c test:///default domifstat test testnet0
 * ```
 */
export const domifstatVerb: Verb = {
  name: "domifstat",
  summary: "get network interface stats for a domain",
  json: true,
  options: [
    DOMAIN_OPTION,
    {
      name: "interface",
      kind: "string",
      positional: true,
      required: true,
      help: "interface device specified by name or MAC Address",
    },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const iface = args.required("interface");
    const view = await domainCommand(
      reference,
      `Failed to get interface stats ${reference} ${iface}`,
      () => context.client.interfaceStats(reference, iface),
    );
    warnIfStale(context, reference, view);
    if (args.flag("json")) context.json(view);
    else context.print(formatInterfaceStats(view));
  },
};
