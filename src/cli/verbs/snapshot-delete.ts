/**
 * `snapshot-delete`: deletes a snapshot (`--children`: and its descendants; `--children-only`:
 * only them; `--metadata`: only the record), as `virsh snapshot-delete`.
 *
 * @module
 */

import { SnapshotClient } from "../../client/snapshot_client.ts";
import type { VerbArguments } from "../arguments.ts";
import { CommandFailure } from "../command_failure.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";
import { lookupSnapshot } from "./snapshot-info.ts";

/**
 * The `snapshot-delete` verb.
 *
 * @example
 * ```sh
 * evirt snapshot-delete web s1 --children
 * ```
 */
export const snapshotDeleteVerb: Verb = {
  name: "snapshot-delete",
  summary: "Delete a domain snapshot",
  options: [
    DOMAIN_OPTION,
    { name: "snapshotname", kind: "string", positional: true, help: "snapshot name" },
    { name: "current", kind: "bool", help: "delete current snapshot" },
    { name: "children", kind: "bool", help: "delete snapshot and all children" },
    { name: "children-only", kind: "bool", help: "delete children but not snapshot" },
    {
      name: "metadata",
      kind: "bool",
      help: "delete only libvirt metadata, leaving snapshot contents behind",
    },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const snapshots = new SnapshotClient(context.client);
    const { name } = await lookupSnapshot(snapshots, reference, args);
    const childrenOnly = args.flag("children-only");
    try {
      await snapshots.delete(reference, name, {
        children: args.flag("children"),
        childrenOnly,
        metadata: args.flag("metadata"),
      });
    } catch (error) {
      throw new CommandFailure(`Failed to delete snapshot ${name}`, error);
    }
    context.printExtra(
      childrenOnly
        ? `Domain snapshot ${name} children deleted\n`
        : `Domain snapshot ${name} deleted\n`,
    );
  },
};
