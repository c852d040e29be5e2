/**
 * How every `*-dumpxml` verb prints its document: whole, or with `--xpath` the nodes it selects
 * (one per line, or under one root with `--wrap`), as virsh's dumpxml verbs do.
 *
 * @module
 */

import type { OptionSpec, VerbArguments } from "./arguments.ts";
import type { VerbContext } from "./verb.ts";

/** `--xpath` and `--wrap`, as every dumpxml verb offers them. */
export const XPATH_OPTIONS: readonly OptionSpec[] = [
  { name: "xpath", kind: "string", help: "xpath expression to filter the XML document" },
  { name: "wrap", kind: "bool", help: "wrap xpath results in an common root element" },
];

/** Prints an XML document, or with `--xpath` the nodes it selects. */
export async function printXml(
  context: VerbContext,
  args: VerbArguments,
  xml: string,
): Promise<void> {
  const xpath = args.text("xpath");
  if (xpath === undefined) {
    context.print(xml.endsWith("\n") ? xml : `${xml}\n`);
    return;
  }
  // Loaded only here: the XML reader brings its npm parser, which a plain dump never needs.
  const { readXml } = await import("../xml/xml_reader.ts");
  const { evaluateXPath, formatXPathNode, wrapXPathNodes } = await import(
    "../xml/xpath_subset.ts"
  );
  const nodes = evaluateXPath(readXml(xml), xpath);
  if (args.flag("wrap")) context.print(`${wrapXPathNodes(nodes)}\n`);
  else for (const node of nodes) context.print(`${formatXPathNode(node)}\n`);
}
