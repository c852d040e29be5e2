/**
 * `snapshot-info`: one snapshot's state, location, parent and family, as `virsh snapshot-info`.
 *
 * @module
 */

import { SnapshotClient } from "../../client/snapshot_client.ts";
import { ArgumentError, type VerbArguments } from "../arguments.ts";
import { formatSnapshotInfo } from "../snapshot_layouts.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";

/**
 * The `snapshot-info` verb.
 *
 * @example
 * ```sh
 * evirt snapshot-info web --current
 * ```
 */
export const snapshotInfoVerb: Verb = {
  name: "snapshot-info",
  summary: "snapshot information",
  json: true,
  options: [
    DOMAIN_OPTION,
    { name: "snapshotname", kind: "string", positional: true, help: "snapshot name" },
    { name: "current", kind: "bool", help: "info on current snapshot" },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const snapshots = new SnapshotClient(context.client);
    const view = await lookupSnapshot(snapshots, reference, args);
    if (args.flag("json")) {
      context.json(view);
      return;
    }
    context.print(formatSnapshotInfo(view));
  },
};

/** The snapshot `snapshotname` names, or with `--current` the current one (virsh's lookup). */
export async function lookupSnapshot(
  snapshots: SnapshotClient,
  reference: string,
  args: VerbArguments,
) {
  const name = args.text("snapshotname");
  if (name !== undefined && args.flag("current")) {
    throw new ArgumentError(
      "Options --snapshotname and --current are mutually exclusive",
      "current",
    );
  }
  if (name !== undefined) return await snapshots.info(reference, name);
  if (args.flag("current")) return await snapshots.current(reference);
  throw new ArgumentError("--snapshotname or --current is required", "snapshotname");
}
