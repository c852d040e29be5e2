/**
 * `save-image-edit`: edits the domain XML a save image carries in `$VISUAL` or `$EDITOR` and
 * writes the result back, as `virsh save-image-edit` (`--running` / `--paused` change how it
 * restores).
 *
 * @module
 */

import { SaveClient } from "../../client/save_client.ts";
import type { VerbArguments } from "../arguments.ts";
import type { Verb, VerbContext } from "../verb.ts";
import { editDocument } from "./edit.ts";
import { exclusiveRunningPaused, SAVE_FLAG_OPTIONS } from "./save.ts";

/**
 * The `save-image-edit` verb.
 *
 * @example
 * ```sh
 * EDITOR=nano evirt save-image-edit /var/tmp/web.save   # State file /var/tmp/web.save edited.
 * ```
 */
export const saveImageEditVerb: Verb = {
  name: "save-image-edit",
  summary: "edit XML for a domain's saved state file",
  options: [
    {
      name: "file",
      kind: "string",
      positional: true,
      required: true,
      help: "saved state file to edit",
    },
    ...SAVE_FLAG_OPTIONS,
  ],
  async run(context: VerbContext, args: VerbArguments) {
    // virsh refuses both up front: the define of each edit would refuse them again and again.
    exclusiveRunningPaused(args);
    const file = args.required("file");
    const saves = new SaveClient(context.client);
    await editDocument(context, {
      name: file,
      original: await saves.xml(file, true),
      define: async (xml) => {
        await saves.define(file, xml, {
          running: args.flag("running"),
          paused: args.flag("paused"),
        });
        return file;
      },
      notChanged: (name) => `Saved image ${name} XML configuration not changed.\n`,
      edited: (name) => `State file ${name} edited.\n`,
    });
  },
};
