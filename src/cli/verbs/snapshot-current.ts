/**
 * `snapshot-current`: the current snapshot's XML (`--name`: its name), or, given a name, makes
 * that snapshot current (its stored document redefined as current, as virsh does).
 *
 * @module
 */

import { SnapshotClient } from "../../client/snapshot_client.ts";
import { ArgumentError, type VerbArguments } from "../arguments.ts";
import { CommandFailure } from "../command_failure.ts";
import { isVirtError } from "../../model/errors.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";

/**
 * The `snapshot-current` verb.
 *
 * @example
 * ```sh
 * evirt snapshot-current web --name   # s2
 * evirt snapshot-current web s1       # Snapshot s1 set as current
 * ```
 */
export const snapshotCurrentVerb: Verb = {
  name: "snapshot-current",
  summary: "Get or set the current snapshot",
  options: [
    DOMAIN_OPTION,
    { name: "name", kind: "bool", help: "list the name, rather than the full xml" },
    {
      name: "security-info",
      kind: "bool",
      help: "include security sensitive information in XML dump",
    },
    {
      name: "snapshotname",
      kind: "string",
      positional: true,
      help: "name of existing snapshot to make current",
    },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const snapshots = new SnapshotClient(context.client);
    const target = args.text("snapshotname");
    if (target !== undefined) {
      for (const other of ["name", "security-info"]) {
        if (args.has(other)) {
          throw new ArgumentError(
            `Options --snapshotname and --${other} are mutually exclusive`,
            other,
          );
        }
      }
      const xml = await snapshots.xml(reference, target, true);
      await snapshots.create(reference, xml, { redefine: true, current: true });
      context.printExtra(`Snapshot ${target} set as current`);
      return;
    }
    let name: string;
    try {
      name = (await snapshots.current(reference)).name;
    } catch (error) {
      if (isVirtError(error) && error.code === 72) {
        throw new CommandFailure(`domain '${reference}' has no current snapshot`);
      }
      throw error;
    }
    if (args.flag("name")) {
      context.print(name);
      return;
    }
    context.print(await snapshots.xml(reference, name, args.flag("security-info")));
  },
};
