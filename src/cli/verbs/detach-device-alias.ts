/**
 * `detach-device-alias`: removes the device with an alias; a live removal is asked of the guest
 * and answered at once, as virsh's ("Device detach request sent successfully").
 *
 * @module
 */

import type { VerbArguments } from "../arguments.ts";
import { CommandFailure } from "../command_failure.ts";
import { DEVICE_SCOPE_OPTIONS, deviceScope } from "../device_scope.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";

/**
 * The `detach-device-alias` verb.
 *
 * @example
 * ```sh
 * evirt detach-device-alias web virtio-disk1 --live   # Device detach request sent successfully
 * ```
 */
export const detachDeviceAliasVerb: Verb = {
  name: "detach-device-alias",
  summary: "detach device from an alias",
  options: [
    DOMAIN_OPTION,
    { name: "alias", kind: "string", positional: true, required: true, help: "device alias" },
    // virsh offers --current, --live, --config here (no --persistent).
    ...DEVICE_SCOPE_OPTIONS.filter((option) => option.name !== "persistent"),
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const alias = args.required("alias");
    const scope = await deviceScope(context, args, reference, false);
    try {
      await context.client.detachDeviceAlias(reference, alias, scope);
    } catch (error) {
      throw new CommandFailure(`Failed to detach device with alias ${alias}`, error);
    }
    context.printExtra("Device detach request sent successfully\n");
  },
};
