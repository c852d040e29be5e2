/**
 * `domjobinfo`: the domain's outgoing live migration, save or restore under way, or with
 * `--completed` its last completed save, in virsh's lines.
 *
 * @module
 */

import { SaveClient } from "../../client/save_client.ts";
import type { VerbArguments } from "../arguments.ts";
import { domainCommand } from "../command_failure.ts";
import { formatDomainJob } from "../job_layouts.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";

/**
 * The `domjobinfo` verb.
 *
 * @example
 * ```sh
 * evirt domjobinfo web               # Job type: Unbounded, Operation: Save, …
 * evirt domjobinfo web --completed   # the last save, once
 * ```
 */
export const domjobinfoVerb: Verb = {
  name: "domjobinfo",
  summary: "domain job information",
  options: [
    DOMAIN_OPTION,
    { name: "completed", kind: "bool", help: "return statistics of a recently completed job" },
    {
      name: "keep-completed",
      kind: "bool",
      help: "don't destroy statistics of a recently completed job when reading",
    },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const view = await domainCommand(
      reference,
      undefined,
      () =>
        new SaveClient(context.client).jobInfo(reference, {
          completed: args.flag("completed"),
          keepCompleted: args.flag("keep-completed"),
        }),
    );
    context.print(formatDomainJob(view));
  },
};
