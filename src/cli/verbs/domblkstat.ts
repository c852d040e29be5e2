/**
 * `domblkstat`: a disk's I/O counters (or, without a disk, the sum over all disks), from the
 * service's latest samples.
 *
 * @module
 */

import type { VerbArguments } from "../arguments.ts";
import { domainCommand } from "../command_failure.ts";
import { warnIfStale } from "../stale_warning.ts";
import { formatBlockStats } from "../stats_layouts.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";

/**
 * The `domblkstat` verb.
 *
 * @example
 * ```sh
 * evirt domblkstat web vda   # vda rd_req 1204 …
 * ```
 */
export const domblkstatVerb: Verb = {
  name: "domblkstat",
  summary: "get device block stats for a domain",
  json: true,
  options: [
    DOMAIN_OPTION,
    { name: "device", kind: "string", positional: true, help: "block device" },
    { name: "human", kind: "bool", help: "print a more human readable output" },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const device = args.text("device");
    const view = await domainCommand(
      reference,
      `Failed to get block stats ${reference} ${device ?? ""}`,
      () => context.client.blockStats(reference, device),
    );
    warnIfStale(context, reference, view);
    if (args.flag("json")) context.json(view);
    else context.print(formatBlockStats(view, args.flag("human")));
  },
};
