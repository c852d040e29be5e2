/**
 * `save-image-dumpxml`: the domain XML a save image carries, as `virsh save-image-dumpxml`.
 *
 * @module
 */

import { SaveClient } from "../../client/save_client.ts";
import type { VerbArguments } from "../arguments.ts";
import type { Verb, VerbContext } from "../verb.ts";

/**
 * The `save-image-dumpxml` verb.
 *
 * @example
 * ```sh
 * evirt save-image-dumpxml /var/tmp/web.save
 * ```
 */
export const saveImageDumpxmlVerb: Verb = {
  name: "save-image-dumpxml",
  summary: "saved state domain information in XML",
  options: [
    {
      name: "file",
      kind: "string",
      positional: true,
      required: true,
      help: "saved state file to read",
    },
    {
      name: "security-info",
      kind: "bool",
      help: "include security sensitive information in XML dump",
    },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const xml = await new SaveClient(context.client).xml(
      args.required("file"),
      args.flag("security-info"),
    );
    context.print(xml.endsWith("\n") ? xml : `${xml}\n`);
  },
};
