/**
 * `snapshot-edit`: edits a snapshot's stored document in `$VISUAL` or `$EDITOR` and records the
 * result (`--redefine`, current again when it was), as `virsh snapshot-edit`; a new name needs
 * `--rename` (the old record goes) or `--clone` (it stays).
 *
 * @module
 */

import { SnapshotClient } from "../../client/snapshot_client.ts";
import { ArgumentError, type VerbArguments } from "../arguments.ts";
import { CommandFailure } from "../command_failure.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";
import { editDocument } from "./edit.ts";
import { lookupSnapshot } from "./snapshot-info.ts";

/** The `<name>` of a snapshot document (the first one). */
function nameIn(xml: string): string | undefined {
  return /<name>([^<]*)<\/name>/.exec(xml)?.[1];
}

/**
 * The `snapshot-edit` verb.
 *
 * @example
 * ```sh
 * EDITOR=nano evirt snapshot-edit web s1   # Snapshot s1 edited.
 * ```
 */
export const snapshotEditVerb: Verb = {
  name: "snapshot-edit",
  summary: "edit XML for a snapshot",
  options: [
    DOMAIN_OPTION,
    { name: "snapshotname", kind: "string", positional: true, help: "snapshot name" },
    { name: "current", kind: "bool", help: "also set edited snapshot as current" },
    { name: "rename", kind: "bool", help: "allow renaming an existing snapshot" },
    { name: "clone", kind: "bool", help: "allow cloning to new name" },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    if (args.flag("rename") && args.flag("clone")) {
      throw new ArgumentError("Options --rename and --clone are mutually exclusive", "clone");
    }
    const snapshots = new SnapshotClient(context.client);
    const view = await lookupSnapshot(snapshots, reference, args);
    const original = await snapshots.xml(reference, view.name, true);
    const current = view.current ||
      (args.flag("current") && args.text("snapshotname") !== undefined);
    await editDocument(context, {
      name: view.name,
      original,
      define: async (xml) => {
        const edited = nameIn(xml) ?? view.name;
        if (edited !== view.name && !args.flag("rename") && !args.flag("clone")) {
          throw new CommandFailure(
            `must use --rename or --clone to change ${view.name} to ${edited}`,
          );
        }
        const name = await snapshots.create(reference, xml, { redefine: true, current });
        if (name !== view.name && args.flag("rename")) {
          await snapshots.delete(reference, view.name, { metadata: true });
        }
        return name;
      },
      notChanged: (name) => `Snapshot ${name} XML configuration not changed.\n`,
      edited: (name) =>
        name === view.name
          ? `Snapshot ${name} edited.\n`
          : args.flag("clone")
          ? `Snapshot ${view.name} cloned to ${name}.\n`
          : `Snapshot ${view.name} renamed to ${name}.\n`,
    });
  },
};
