/**
 * `dumpxml`: a domain's XML (the live definition of a running domain, else the persistent one);
 * with `--json`, evirt's JSON model of the same definition; with `--xpath`, only the nodes an
 * XPath expression selects (a subset of XPath, `src/xml/xpath_subset.ts`), `--wrap`ped in
 * `<nodes>` if asked.
 *
 * @module
 */

import type { VerbArguments } from "../arguments.ts";
import { domainCommand } from "../command_failure.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";
import { printXml, XPATH_OPTIONS } from "../xml_output.ts";

/**
 * The `dumpxml` verb.
 *
 * @example
 * ```sh
 * evirt -c test:///default dumpxml test --inactive
 * ```
 */
export const dumpxmlVerb: Verb = {
  name: "dumpxml",
  summary: "domain information in XML",
  json: true,
  options: [
    DOMAIN_OPTION,
    { name: "inactive", kind: "bool", help: "show inactive defined XML" },
    {
      name: "security-info",
      kind: "bool",
      help: "include security sensitive information in XML dump",
    },
    ...XPATH_OPTIONS,
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const inactive = args.flag("inactive");
    if (args.flag("json")) {
      const model = await domainCommand(
        reference,
        undefined,
        () => context.client.definition(reference, { inactive }),
      );
      context.json(model);
      return;
    }
    const xml = await domainCommand(
      reference,
      undefined,
      () => context.client.xml(reference, { inactive, secure: args.flag("security-info") }),
    );
    await printXml(context, args, xml);
  },
};
