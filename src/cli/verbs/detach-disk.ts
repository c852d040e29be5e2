/**
 * `detach-disk`: finds the disk by target or source path in the domain's XML (the inactive XML
 * with `--config` alone) and detaches it, as virsh does.
 *
 * @module
 */

import type { VerbArguments } from "../arguments.ts";
import { CommandFailure } from "../command_failure.ts";
import { DEVICE_SCOPE_OPTIONS, deviceScope, elementXml, findDisk } from "../device_scope.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";

/**
 * The `detach-disk` verb.
 *
 * @example
 * ```sh
 * evirt detach-disk web vdb --live   # Disk detached successfully
 * ```
 */
export const detachDiskVerb: Verb = {
  name: "detach-disk",
  summary: "detach disk device",
  options: [
    DOMAIN_OPTION,
    {
      name: "target",
      kind: "string",
      positional: true,
      required: true,
      help: "target of disk device",
    },
    ...DEVICE_SCOPE_OPTIONS,
    { name: "print-xml", kind: "bool", help: "print XML document rather than detach the disk" },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const scope = await deviceScope(context, args, reference, true);
    const disk = await findDisk(context, reference, args.required("target"), scope, false);
    const xml = await elementXml(disk);
    if (args.flag("print-xml")) {
      context.print(`${xml}\n`);
      return;
    }
    let pending: string[];
    try {
      ({ pending } = await context.client.changeDevice(reference, "detach", xml, scope));
    } catch (error) {
      throw new CommandFailure("Failed to detach disk", error);
    }
    if (pending.length > 0) context.warn(`removal of ${pending.join(", ")} is in progress`);
    context.printExtra("Disk detached successfully\n");
  },
};
