/**
 * `create`: creates and starts a transient domain from an XML file (or evirt's JSON model).
 *
 * @module
 */

import type { DomainSummaryView } from "../../api/views.ts";
import type { VerbArguments } from "../arguments.ts";
import { CommandFailure } from "../command_failure.ts";
import { readDomainDocument } from "../document_file.ts";
import type { Verb, VerbContext } from "../verb.ts";

/**
 * The `create` verb.
 *
 * @example
 * ```sh
 * evirt create web.xml   # Domain 'web' created from web.xml
 * ```
 */
export const createVerb: Verb = {
  name: "create",
  summary: "create a domain from an XML file",
  options: [
    {
      name: "file",
      kind: "string",
      positional: true,
      required: true,
      help: "file containing an XML domain description",
    },
    { name: "paused", kind: "bool", help: "leave the guest paused after creation" },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const file = args.required("file");
    const document = await readDomainDocument(file, context.xmlMaxBytes);
    let created: DomainSummaryView;
    try {
      created = await context.progress.during(
        `creating a domain from ${file}`,
        context.client.create(document, { paused: args.flag("paused") }),
      );
    } catch (error) {
      throw new CommandFailure(`Failed to create domain from ${file}`, error);
    }
    context.printExtra(`Domain '${created.name}' created from ${file}\n`);
  },
};
