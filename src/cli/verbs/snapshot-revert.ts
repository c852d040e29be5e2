/**
 * `snapshot-revert`: brings a domain back to a snapshot, as `virsh snapshot-revert`.
 *
 * @module
 */

import { SnapshotClient } from "../../client/snapshot_client.ts";
import type { VerbArguments } from "../arguments.ts";
import { CommandFailure } from "../command_failure.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";
import { lookupSnapshot } from "./snapshot-info.ts";

/**
 * The `snapshot-revert` verb.
 *
 * @example
 * ```sh
 * evirt snapshot-revert web s1 --paused
 * ```
 */
export const snapshotRevertVerb: Verb = {
  name: "snapshot-revert",
  summary: "Revert a domain to a snapshot",
  options: [
    DOMAIN_OPTION,
    { name: "snapshotname", kind: "string", positional: true, help: "snapshot name" },
    { name: "current", kind: "bool", help: "revert to current snapshot" },
    { name: "running", kind: "bool", help: "after reverting, change state to running" },
    { name: "paused", kind: "bool", help: "after reverting, change state to paused" },
    { name: "force", kind: "bool", help: "try harder on risky reverts" },
    { name: "reset-nvram", kind: "bool", help: "re-initialize NVRAM from its pristine template" },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const snapshots = new SnapshotClient(context.client);
    const { name } = await lookupSnapshot(snapshots, reference, args);
    try {
      if (args.flag("reset-nvram")) {
        throw new CommandFailure("unsupported flags (0x8): evirt keeps no NVRAM");
      }
      await snapshots.revert(reference, name, {
        running: args.flag("running"),
        paused: args.flag("paused"),
        force: args.flag("force"),
      });
    } catch (error) {
      throw new CommandFailure(`Failed to revert snapshot ${name}`, error);
    }
    context.printExtra(`Domain snapshot ${name} reverted\n`);
  },
};
