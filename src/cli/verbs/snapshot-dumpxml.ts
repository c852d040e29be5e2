/**
 * `snapshot-dumpxml`: a snapshot's `<domainsnapshot>` document, as `virsh snapshot-dumpxml`.
 *
 * @module
 */

import { SnapshotClient } from "../../client/snapshot_client.ts";
import type { VerbArguments } from "../arguments.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";

/**
 * The `snapshot-dumpxml` verb.
 *
 * @example
 * ```sh
 * evirt snapshot-dumpxml web s1
 * ```
 */
export const snapshotDumpxmlVerb: Verb = {
  name: "snapshot-dumpxml",
  summary: "Dump XML for a domain snapshot",
  options: [
    DOMAIN_OPTION,
    {
      name: "snapshotname",
      kind: "string",
      positional: true,
      required: true,
      help: "snapshot name",
    },
    {
      name: "security-info",
      kind: "bool",
      help: "include security sensitive information in XML dump",
    },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const xml = await new SnapshotClient(context.client).xml(
      args.required("domain"),
      args.required("snapshotname"),
      args.flag("security-info"),
    );
    context.print(xml);
  },
};
