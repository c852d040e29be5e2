/**
 * `dommemstat`: a running domain's memory statistics, from the service's latest samples.
 *
 * @module
 */

import type { VerbArguments } from "../arguments.ts";
import { domainCommand } from "../command_failure.ts";
import { warnIfStale } from "../stale_warning.ts";
import { formatMemoryStats } from "../stats_layouts.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";

/**
 * The `dommemstat` verb.
 *
 * @example
 * ```sh
 * evirt -c test:///default dommemstat test   # actual 2097152 …
 * ```
 */
export const dommemstatVerb: Verb = {
  name: "dommemstat",
  summary: "get memory statistics for a domain",
  json: true,
  options: [DOMAIN_OPTION],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const view = await domainCommand(
      reference,
      `Failed to get memory statistics for domain ${reference}`,
      () => context.client.memoryStats(reference),
    );
    warnIfStale(context, reference, view);
    if (args.flag("json")) context.json(view);
    else context.print(formatMemoryStats(view.stats));
  },
};
