/**
 * `domxml-to-native`: domain XML (a file, or a defined domain's XML) as a hypervisor's native
 * configuration (`xl.cfg`, `.vmx`, …), as virsh prints it.
 *
 * @module
 */

import type { VerbArguments } from "../arguments.ts";
import { CommandFailure, domainCommand } from "../command_failure.ts";
import { readBoundedText } from "../document_file.ts";
import type { Verb, VerbContext } from "../verb.ts";

/**
 * The `domxml-to-native` verb.
 *
 * @example
 * ```sh
 * evirt domxml-to-native xen-xl guest.xml
 * evirt domxml-to-native xen-xl --domain guest
 * ```
 */
export const domxmlToNativeVerb: Verb = {
  name: "domxml-to-native",
  summary: "Convert domain XML to native config",
  options: [
    {
      name: "format",
      kind: "string",
      positional: true,
      required: true,
      help: "target config data type format",
    },
    { name: "domain", kind: "string", help: "domain name, id or uuid" },
    { name: "xml", kind: "string", positional: true, help: "xml data file to export from" },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const format = args.required("format");
    const reference = args.text("domain");
    const file = args.text("xml");
    if (reference !== undefined && file !== undefined) {
      throw new CommandFailure("Options --domain and --xml are mutually exclusive");
    }
    let xml: string;
    if (reference !== undefined) {
      xml = await domainCommand(reference, undefined, () => context.client.xml(reference));
    } else if (file !== undefined) {
      xml = await readBoundedText(file, context.xmlMaxBytes);
    } else {
      throw new CommandFailure("need either domain or domain XML");
    }
    context.print(await context.client.domainXmlToNative(format, xml));
  },
};
