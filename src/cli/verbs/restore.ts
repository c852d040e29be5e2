/**
 * `restore`: starts a domain from a save image, as `virsh restore` (`--xml` replaces the
 * definition it carries with one of the same domain).
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
 * The `restore` verb.
 *
 * @example
 * ```sh
 * evirt restore /var/tmp/web.save   # Domain restored from /var/tmp/web.save
 * ```
 */
export const restoreVerb: Verb = {
  name: "restore",
  summary: "restore a domain from a saved state in a file",
  options: [
    {
      name: "file",
      kind: "string",
      positional: true,
      required: true,
      help: "the state to restore",
    },
    { name: "bypass-cache", kind: "bool", help: "avoid file system cache when restoring" },
    { name: "xml", kind: "string", help: "filename containing updated XML for the target" },
    ...SAVE_FLAG_OPTIONS,
  ],
  async run(context: VerbContext, args: VerbArguments) {
    exclusiveRunningPaused(args);
    const file = args.required("file");
    const xmlFile = args.text("xml");
    const xml = xmlFile === undefined
      ? undefined
      : await readBoundedText(xmlFile, context.xmlMaxBytes);
    try {
      await context.progress.during(
        `restoring a domain from ${file}`,
        new SaveClient(context.client).restore(file, {
          running: args.flag("running"),
          paused: args.flag("paused"),
          bypassCache: args.flag("bypass-cache"),
        }, xml),
      );
    } catch (error) {
      throw new CommandFailure(`Failed to restore domain from ${file}`, error);
    }
    context.printExtra(`Domain restored from ${file}\n`);
  },
};
