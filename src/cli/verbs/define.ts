/**
 * `define`: defines (or redefines) a persistent domain from an XML file (or evirt's JSON model).
 *
 * @module
 */

import type { VerbArguments } from "../arguments.ts";
import { CommandFailure } from "../command_failure.ts";
import { readDomainDocument } from "../document_file.ts";
import type { Verb, VerbContext } from "../verb.ts";

/**
 * The `define` verb.
 *
 * @example
 * ```sh
 * evirt define web.xml   # Domain 'web' defined from web.xml
 * ```
 */
export const defineVerb: Verb = {
  name: "define",
  summary: "define (but don't start) a domain from an XML file",
  options: [{
    name: "file",
    kind: "string",
    positional: true,
    required: true,
    help: "file containing an XML domain description",
  }],
  async run(context: VerbContext, args: VerbArguments) {
    const file = args.required("file");
    const document = await readDomainDocument(file, context.xmlMaxBytes);
    let name: string;
    try {
      name = (await context.client.define(document)).name;
    } catch (error) {
      throw new CommandFailure(`Failed to define domain from ${file}`, error);
    }
    context.printExtra(`Domain '${name}' defined from ${file}\n`);
  },
};
