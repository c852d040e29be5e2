/**
 * `metadata`: shows, sets (`--set XML --key PREFIX`) or removes (`--remove`) a domain's metadata
 * element of one namespace URI.
 *
 * @module
 */

import { ArgumentError, type VerbArguments } from "../arguments.ts";
import { domainCommand } from "../command_failure.ts";
import { metadataScope, SCOPE_OPTIONS } from "../metadata_scope.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";

/**
 * The `metadata` verb.
 *
 * @example
 * ```sh
 * evirt metadata web http://example.org/app --key app --set '<app name="shop"/>'   # Metadata modified
 * evirt metadata web http://example.org/app
 * ```
 */
export const metadataVerb: Verb = {
  name: "metadata",
  summary: "show or set domain's custom XML metadata",
  json: true,
  options: [
    DOMAIN_OPTION,
    { name: "uri", kind: "string", positional: true, required: true, help: "URI of the namespace" },
    ...SCOPE_OPTIONS,
    { name: "key", kind: "string", help: "key to be used as a namespace identifier" },
    { name: "set", kind: "string", help: "new metadata to set" },
    { name: "remove", kind: "bool", help: "remove the metadata corresponding to an uri" },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const uri = args.required("uri");
    const scope = metadataScope(args);
    const set = args.text("set");
    if (set !== undefined && args.flag("remove")) {
      throw new ArgumentError("Options --set and --remove are mutually exclusive", "--set");
    }
    if (set !== undefined) {
      const key = args.text("key");
      if (key === undefined) {
        throw new ArgumentError("namespace key is required when modifying metadata", "--key");
      }
      await domainCommand(
        reference,
        undefined,
        () =>
          context.client.setMetadata(reference, {
            type: "element",
            value: set,
            uri,
            key,
            ...scope,
          }),
      );
      context.printExtra("Metadata modified\n");
      return;
    }
    if (args.flag("remove")) {
      await domainCommand(
        reference,
        undefined,
        () =>
          context.client.setMetadata(reference, { type: "element", value: null, uri, ...scope }),
      );
      context.printExtra("Metadata removed\n");
      return;
    }
    const value = await domainCommand(
      reference,
      undefined,
      () =>
        context.client.getMetadata(reference, {
          type: "element",
          uri,
          ...(scope.config ? { config: true } : {}),
        }),
    );
    if (args.flag("json")) context.json({ type: "element", uri, value });
    // virsh prints the element and one newline, whatever the service's text ends with.
    else context.print(`${value.replace(/\n+$/, "")}\n`);
  },
};
