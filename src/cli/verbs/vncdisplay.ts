/**
 * `vncdisplay`: the VNC display of a running domain (`127.0.0.1:0`), from its live definition
 * (virsh reads the same from the live XML).
 *
 * @module
 */

import type { VerbArguments } from "../arguments.ts";
import { CommandFailure, domainCommand } from "../command_failure.ts";
import { vncDisplay } from "../display_layouts.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";

/**
 * The `vncdisplay` verb.
 *
 * @example
 * ```sh
 * evirt vncdisplay guest   # 127.0.0.1:0
 * ```
 */
export const vncdisplayVerb: Verb = {
  name: "vncdisplay",
  summary: "vnc display",
  options: [DOMAIN_OPTION],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const info = await domainCommand(reference, undefined, () => context.client.info(reference));
    if (info.id === null) throw new CommandFailure("Domain is not running");
    const { definition } = await domainCommand(
      reference,
      undefined,
      () => context.client.definition(reference),
    );
    const display = vncDisplay(definition.devices.graphics);
    if (display === undefined) {
      throw new CommandFailure("Failed to get VNC port. Is this domain using VNC?");
    }
    context.print(`${display}\n`);
  },
};
