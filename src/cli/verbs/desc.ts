/**
 * `desc`: shows or sets a domain's description (`--title`: its title). Words after the domain,
 * or `--new-desc`, are the new text; an empty text removes it.
 *
 * @module
 */

import { ErrorCode, isVirtError } from "../../model/errors.ts";
import type { VerbArguments } from "../arguments.ts";
import { domainCommand, domainFailure } from "../command_failure.ts";
import { metadataScope, SCOPE_OPTIONS } from "../metadata_scope.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";

/**
 * The `desc` verb.
 *
 * @example
 * ```sh
 * evirt desc web --title "front end"   # Domain title updated successfully
 * evirt desc web --title               # front end
 * ```
 */
export const descVerb: Verb = {
  name: "desc",
  summary: "show or set domain's description or title",
  json: true,
  options: [
    DOMAIN_OPTION,
    ...SCOPE_OPTIONS,
    { name: "title", kind: "bool", help: "modify/get the title instead of description" },
    { name: "new-desc", kind: "string", rest: true, help: "message" },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const scope = metadataScope(args);
    const type = args.flag("title") ? "title" : "description";
    const text = args.text("new-desc");
    if (text !== undefined) {
      await domainCommand(
        reference,
        `Failed to set new domain ${type}`,
        () =>
          context.client.setMetadata(reference, {
            type,
            value: text === "" ? null : text,
            ...scope,
          }),
      );
      // virsh ends this message with the command's own newline only.
      context.printExtra(`Domain ${type} updated successfully`);
      return;
    }
    let value: string | null;
    try {
      value = await context.client.getMetadata(reference, {
        type,
        ...(scope.config ? { config: true } : {}),
      });
    } catch (error) {
      if (!isVirtError(error, ErrorCode.NO_DOMAIN_METADATA)) {
        throw domainFailure(reference, undefined, error);
      }
      value = null;
    }
    if (args.flag("json")) {
      context.json({ type, value });
    } else if (value !== null && value !== "") {
      context.print(value);
    } else {
      const info = await domainCommand(reference, undefined, () => context.client.info(reference));
      context.print(`No ${type} for domain: ${info.name}`);
    }
  },
};
