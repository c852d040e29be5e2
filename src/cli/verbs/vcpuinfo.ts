/**
 * `vcpuinfo`: a domain's vCPUs (number, host CPU, state, CPU time, affinity).
 *
 * @module
 */

import type { VerbArguments } from "../arguments.ts";
import { domainCommand } from "../command_failure.ts";
import { warnIfStale } from "../stale_warning.ts";
import { formatVcpuInfo } from "../stats_layouts.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";

/**
 * The `vcpuinfo` verb.
 *
 * @example
 * ```sh
 * evirt -c test:///default vcpuinfo test --pretty
 * ```
 */
export const vcpuinfoVerb: Verb = {
  name: "vcpuinfo",
  summary: "detailed domain vcpu information",
  json: true,
  options: [
    DOMAIN_OPTION,
    { name: "pretty", kind: "bool", help: "return human readable output" },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const view = await domainCommand(reference, undefined, () => context.client.vcpus(reference));
    warnIfStale(context, reference, view);
    if (args.flag("json")) context.json(view);
    else context.print(formatVcpuInfo(view.vcpus, args.flag("pretty")));
  },
};
