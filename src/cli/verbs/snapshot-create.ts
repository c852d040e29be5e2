/**
 * `snapshot-create`: takes a snapshot from a `<domainsnapshot>` file (or an empty document), as
 * `virsh snapshot-create`; `--redefine` records a stored one.
 *
 * @module
 */

import { SnapshotClient } from "../../client/snapshot_client.ts";
import type { VerbArguments } from "../arguments.ts";
import { readBoundedText } from "../document_file.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";
import { SNAPSHOT_CREATE_OPTIONS, snapshotCreateFlags } from "./snapshot-create-as.ts";

/**
 * The `snapshot-create` verb.
 *
 * @example
 * ```sh
 * evirt snapshot-create web snap.xml   # Domain snapshot s1 created from 'snap.xml'
 * ```
 */
export const snapshotCreateVerb: Verb = {
  name: "snapshot-create",
  summary: "Create a snapshot from XML",
  options: [
    DOMAIN_OPTION,
    { name: "xmlfile", kind: "string", positional: true, help: "domain snapshot XML" },
    { name: "redefine", kind: "bool", help: "redefine metadata for existing snapshot" },
    { name: "current", kind: "bool", help: "with redefine, set current snapshot" },
    ...SNAPSHOT_CREATE_OPTIONS,
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const file = args.text("xmlfile");
    const xml = file === undefined
      ? "<domainsnapshot/>"
      : await readBoundedText(file, context.xmlMaxBytes);
    const name = await new SnapshotClient(context.client).create(reference, xml, {
      ...snapshotCreateFlags(args),
      redefine: args.flag("redefine"),
      current: args.flag("current"),
    });
    context.printExtra(
      file === undefined
        ? `Domain snapshot ${name} created`
        : `Domain snapshot ${name} created from '${file}'`,
    );
  },
};
