/**
 * `snapshot-create-as`: takes a snapshot described by options (name, description, `--diskspec`,
 * `--memspec`), as `virsh snapshot-create-as`; `--print-xml` prints the document instead.
 *
 * @module
 */

import type { SnapshotCreateOptions } from "../../client/snapshot_client.ts";
import { SnapshotClient } from "../../client/snapshot_client.ts";
import type { OptionSpec, VerbArguments } from "../arguments.ts";
import { snapshotRequestXml } from "../snapshot_layouts.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";

/** The creation flags `snapshot-create` and `snapshot-create-as` share, in virsh's order. */
export const SNAPSHOT_CREATE_OPTIONS: readonly OptionSpec[] = [
  { name: "no-metadata", kind: "bool", help: "take snapshot but create no metadata" },
  { name: "halt", kind: "bool", help: "halt domain after snapshot is created" },
  { name: "disk-only", kind: "bool", help: "capture disk state but not vm state" },
  { name: "reuse-external", kind: "bool", help: "reuse any existing external files" },
  { name: "quiesce", kind: "bool", help: "quiesce guest's file systems" },
  { name: "atomic", kind: "bool", help: "require atomic operation" },
  { name: "live", kind: "bool", help: "take a live snapshot" },
  { name: "validate", kind: "bool", help: "validate the XML against the schema" },
];

/** The creation flags the options ask for. */
export function snapshotCreateFlags(args: VerbArguments): SnapshotCreateOptions {
  return {
    noMetadata: args.flag("no-metadata"),
    halt: args.flag("halt"),
    diskOnly: args.flag("disk-only"),
    reuseExternal: args.flag("reuse-external"),
    quiesce: args.flag("quiesce"),
    atomic: args.flag("atomic"),
    live: args.flag("live"),
    validate: args.flag("validate"),
  };
}

/**
 * The `snapshot-create-as` verb.
 *
 * @example
 * ```sh
 * evirt snapshot-create-as web before-upgrade --disk-only --diskspec vda,file=/var/tmp/web.ovl
 * ```
 */
export const snapshotCreateAsVerb: Verb = {
  name: "snapshot-create-as",
  summary: "Create a snapshot from a set of args",
  options: [
    DOMAIN_OPTION,
    { name: "name", kind: "string", positional: true, help: "name of snapshot" },
    { name: "description", kind: "string", positional: true, help: "description of snapshot" },
    { name: "print-xml", kind: "bool", help: "print XML document rather than create" },
    ...SNAPSHOT_CREATE_OPTIONS,
    {
      name: "memspec",
      kind: "string",
      help: "memory attributes: [file=]name[,snapshot=type]",
    },
    {
      name: "diskspec",
      kind: "string",
      positional: true,
      rest: true,
      repeatable: true,
      help: "disk attributes: disk[,snapshot=type][,driver=type][,stype=type][,file=name]",
    },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const name = args.text("name");
    const description = args.text("description");
    const memspec = args.text("memspec");
    const xml = snapshotRequestXml({
      ...(name === undefined ? {} : { name }),
      ...(description === undefined ? {} : { description }),
      ...(memspec === undefined ? {} : { memspec }),
      diskspecs: args.list("diskspec"),
    });
    if (args.flag("print-xml")) {
      context.print(`${xml}\n`);
      return;
    }
    const created = await new SnapshotClient(context.client).create(
      reference,
      xml,
      snapshotCreateFlags(args),
    );
    context.printExtra(`Domain snapshot ${created} created`);
  },
};
