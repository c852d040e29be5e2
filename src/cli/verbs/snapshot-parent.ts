/**
 * `snapshot-parent`: the name of a snapshot's parent, as `virsh snapshot-parent`.
 *
 * @module
 */

import { SnapshotClient } from "../../client/snapshot_client.ts";
import type { VerbArguments } from "../arguments.ts";
import { CommandFailure } from "../command_failure.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";
import { lookupSnapshot } from "./snapshot-info.ts";

/**
 * The `snapshot-parent` verb.
 *
 * @example
 * ```sh
 * evirt snapshot-parent web s2   # s1
 * ```
 */
export const snapshotParentVerb: Verb = {
  name: "snapshot-parent",
  summary: "Get the name of the parent of a snapshot",
  options: [
    DOMAIN_OPTION,
    {
      name: "snapshotname",
      kind: "string",
      positional: true,
      help: "find parent of snapshot name",
    },
    { name: "current", kind: "bool", help: "find parent of current snapshot" },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const view = await lookupSnapshot(
      new SnapshotClient(context.client),
      args.required("domain"),
      args,
    );
    if (view.parent === null) throw new CommandFailure(`snapshot '${view.name}' has no parent`);
    context.print(view.parent);
  },
};
