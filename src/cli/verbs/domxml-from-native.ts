/**
 * `domxml-from-native`: a hypervisor's native configuration file (`xl.cfg`, `.vmx`, …) as
 * domain XML, as virsh prints it.
 *
 * @module
 */

import type { VerbArguments } from "../arguments.ts";
import { readBoundedText } from "../document_file.ts";
import type { Verb, VerbContext } from "../verb.ts";

/**
 * The `domxml-from-native` verb.
 *
 * @example
 * ```sh
 * evirt domxml-from-native xen-xl guest.cfg
 * ```
 */
export const domxmlFromNativeVerb: Verb = {
  name: "domxml-from-native",
  summary: "Convert native config to domain XML",
  options: [
    {
      name: "format",
      kind: "string",
      positional: true,
      required: true,
      help: "source config data format",
    },
    {
      name: "config",
      kind: "string",
      positional: true,
      required: true,
      help: "config data file to import from",
    },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const config = await readBoundedText(args.required("config"), context.xmlMaxBytes);
    // virsh prints the service's error alone, with no line of its own before it.
    const xml = await context.client.domainXmlFromNative(args.required("format"), config);
    context.print(xml);
  },
};
