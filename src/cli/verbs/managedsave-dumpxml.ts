/**
 * `managedsave-dumpxml`: the domain XML of a domain's managed save image, as
 * `virsh managedsave-dumpxml`.
 *
 * @module
 */

import { SaveClient } from "../../client/save_client.ts";
import type { VerbArguments } from "../arguments.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";

/**
 * The `managedsave-dumpxml` verb.
 *
 * @example
 * ```sh
 * evirt managedsave-dumpxml web
 * ```
 */
export const managedsaveDumpxmlVerb: Verb = {
  name: "managedsave-dumpxml",
  summary: "Domain information of managed save state file in XML",
  options: [
    DOMAIN_OPTION,
    {
      name: "security-info",
      kind: "bool",
      help: "include security sensitive information in XML dump",
    },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const xml = await new SaveClient(context.client).managedSaveXml(
      args.required("domain"),
      args.flag("security-info"),
    );
    context.print(xml.endsWith("\n") ? xml : `${xml}\n`);
  },
};
