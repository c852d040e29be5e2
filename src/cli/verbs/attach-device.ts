/**
 * `attach-device`, `detach-device`, `update-device`: one device from an XML file, added to,
 * removed from or replaced in the running guest and/or the persistent definition.
 *
 * @module
 */

import type { VerbArguments } from "../arguments.ts";
import { CommandFailure } from "../command_failure.ts";
import { DEVICE_SCOPE_OPTIONS, deviceScope } from "../device_scope.ts";
import { readDomainDocument } from "../document_file.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";

type Action = "attach" | "detach" | "update";

const PAST: Record<Action, string> = {
  attach: "attached",
  detach: "detached",
  update: "updated",
};

/** One of the three file verbs. */
function deviceFileVerb(action: Action, summary: string): Verb {
  return {
    name: `${action}-device`,
    summary,
    options: [
      DOMAIN_OPTION,
      {
        name: "file",
        kind: "string",
        positional: true,
        required: true,
        help: "XML file",
      },
      ...DEVICE_SCOPE_OPTIONS,
      ...(action === "update"
        ? [{ name: "force", kind: "bool" as const, help: "force device update" }]
        : []),
    ],
    async run(context: VerbContext, args: VerbArguments) {
      const reference = args.required("domain");
      const file = args.required("file");
      const scope = await deviceScope(context, args, reference, action !== "update");
      const document = await readDomainDocument(file, context.xmlMaxBytes);
      if (!("xml" in document)) {
        throw new CommandFailure(`Failed to ${action} device from ${file}`);
      }
      let pending: string[];
      try {
        ({ pending } = await context.client.changeDevice(reference, action, document.xml, {
          ...scope,
          ...(action === "update" && args.flag("force") ? { force: true } : {}),
        }));
      } catch (error) {
        throw new CommandFailure(`Failed to ${action} device from ${file}`, error);
      }
      // libvirt answers a detach the guest has not finished within 5 s as done; evirt tells.
      if (pending.length > 0) context.warn(`removal of ${pending.join(", ")} is in progress`);
      context.printExtra(`Device ${PAST[action]} successfully\n`);
    },
  };
}

/**
 * The `attach-device` verb.
 *
 * @example
 * ```sh
 * evirt attach-device web disk.xml --config   # Device attached successfully
 * ```
 */
export const attachDeviceVerb: Verb = deviceFileVerb("attach", "attach device from an XML file");

/** The `detach-device` verb. */
export const detachDeviceVerb: Verb = deviceFileVerb("detach", "detach device from an XML file");

/** The `update-device` verb. */
export const updateDeviceVerb: Verb = deviceFileVerb("update", "update device from an XML file");
