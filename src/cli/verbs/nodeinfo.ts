/**
 * `nodeinfo`: the host's CPUs, NUMA cells and memory, in virsh's layout.
 *
 * @module
 */

import type { VerbArguments } from "../arguments.ts";
import { formatNodeInfo } from "../layouts.ts";
import type { Verb, VerbContext } from "../verb.ts";

/**
 * The `nodeinfo` verb.
 *
 * @example
 * ```sh
 * evirt -c test:///default nodeinfo
 * ```
 */
export const nodeinfoVerb: Verb = {
  name: "nodeinfo",
  summary: "node information",
  json: true,
  options: [],
  async run(context: VerbContext, args: VerbArguments) {
    const host = await context.client.host();
    if (args.flag("json")) context.json(host);
    else context.print(formatNodeInfo(host.node));
  },
};
