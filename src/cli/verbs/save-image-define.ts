/**
 * `save-image-define`: replaces the domain XML a save image carries, as
 * `virsh save-image-define` (same domain; `--running` / `--paused` change how it restores).
 *
 * @module
 */

import { SaveClient } from "../../client/save_client.ts";
import type { VerbArguments } from "../arguments.ts";
import { CommandFailure } from "../command_failure.ts";
import { readBoundedText } from "../document_file.ts";
import type { Verb, VerbContext } from "../verb.ts";
import { exclusiveRunningPaused, SAVE_FLAG_OPTIONS } from "./save.ts";

/**
 * The `save-image-define` verb.
 *
 * @example
 * ```sh
 * evirt save-image-define /var/tmp/web.save web.xml   # State file /var/tmp/web.save updated.
 * ```
 */
export const saveImageDefineVerb: Verb = {
  name: "save-image-define",
  summary: "redefine the XML for a domain's saved state file",
  options: [
    {
      name: "file",
      kind: "string",
      positional: true,
      required: true,
      help: "saved state file to modify",
    },
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
    const file = args.required("file");
    const xml = await readBoundedText(args.required("xml"), context.xmlMaxBytes);
    try {
      await new SaveClient(context.client).define(file, xml, {
        running: args.flag("running"),
        paused: args.flag("paused"),
      });
    } catch (error) {
      throw new CommandFailure(`Failed to update ${file}`, error);
    }
    context.printExtra(`State file ${file} updated.\n`);
  },
};
