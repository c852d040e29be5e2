/**
 * `managedsave-define`: replaces the domain XML of a domain's managed save image, as
 * `virsh managedsave-define`.
 *
 * @module
 */

import { SaveClient } from "../../client/save_client.ts";
import type { VerbArguments } from "../arguments.ts";
import { CommandFailure } from "../command_failure.ts";
import { readBoundedText } from "../document_file.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";
import { exclusiveRunningPaused, SAVE_FLAG_OPTIONS } from "./save.ts";

/**
 * The `managedsave-define` verb.
 *
 * @example
 * ```sh
 * evirt managedsave-define web web.xml   # Managed save state file of domain 'web' updated.
 * ```
 */
export const managedsaveDefineVerb: Verb = {
  name: "managedsave-define",
  summary: "redefine the XML for a domain's managed save state file",
  options: [
    DOMAIN_OPTION,
    {
      name: "xml",
      kind: "string",
      positional: true,
      required: true,
      help: "filename containing updated XML for the target",
    },
    ...SAVE_FLAG_OPTIONS,
  ],
  async run(context: VerbContext, args: VerbArguments) {
    exclusiveRunningPaused(args);
    const reference = args.required("domain");
    const file = args.required("xml");
    const xml = await readBoundedText(file, context.xmlMaxBytes);
    try {
      await new SaveClient(context.client).managedSaveDefine(reference, xml, {
        running: args.flag("running"),
        paused: args.flag("paused"),
      });
    } catch (error) {
      throw new CommandFailure(`Failed to update ${file} XML configuration`, error);
    }
    context.printExtra(`Managed save state file of domain '${reference}' updated.\n`);
  },
};
