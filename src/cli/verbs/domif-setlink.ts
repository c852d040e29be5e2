/**
 * `domif-setlink`: as virsh 9.0, reads the domain's XML (inactive with `--config`), finds the
 * interface by MAC address or target device, sets its `<link state>` and sends it back with
 * update-device (the running guest, or the definition with `--config` or when the domain is
 * not running).
 *
 * @module
 */

import { ArgumentError, type VerbArguments } from "../arguments.ts";
import { CommandFailure } from "../command_failure.ts";
import { elementXml } from "../device_scope.ts";
import {
  domainInterfaces,
  interfaceMac,
  interfaceTarget,
  sameMac,
  withLinkState,
} from "../interface_lookup.ts";
import { DOMAIN_OPTION, INTERFACE_OPTION, type Verb, type VerbContext } from "../verb.ts";

/**
 * The `domif-setlink` verb.
 *
 * @example
 * ```sh
 * evirt domif-setlink web 52:54:00:11:22:33 down   # Device updated successfully
 * ```
 */
export const domifSetlinkVerb: Verb = {
  name: "domif-setlink",
  summary: "set link state of a virtual interface",
  options: [
    DOMAIN_OPTION,
    INTERFACE_OPTION,
    {
      name: "state",
      kind: "string",
      positional: true,
      required: true,
      help: "new state of the device",
    },
    { name: "config", kind: "bool", help: "affect next boot" },
    { name: "persistent", kind: "bool", help: "affect next boot (as --config)" },
    {
      name: "print-xml",
      kind: "bool",
      help: "print XML document rather than set the interface link state",
    },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const name = args.required("interface");
    const state = args.required("state");
    if (state !== "up" && state !== "down") {
      throw new ArgumentError(`invalid link state '${state}'`, state);
    }
    const config = args.flag("config") || args.flag("persistent");
    // virsh: the running guest unless --config; an inactive domain's definition either way.
    const live = !config && (await context.client.info(reference)).active;
    const interfaces = await domainInterfaces(context, reference, config);
    if (interfaces.length === 0) {
      throw new ArgumentError(
        "Failed to extract interface information or no interfaces found",
        name,
      );
    }
    const found = interfaces.find((each) =>
      sameMac(interfaceMac(each), name) ||
      interfaceTarget(each)?.toLowerCase() === name.toLowerCase()
    );
    if (found === undefined) throw new ArgumentError(`interface '${name}' not found`, name);
    const xml = await elementXml(withLinkState(found, state));
    if (args.flag("print-xml")) {
      context.print(xml);
      return;
    }
    try {
      await context.client.changeDevice(
        reference,
        "update",
        xml,
        live ? { live: true } : { config: true },
      );
    } catch (error) {
      throw new CommandFailure("Failed to update interface link state", error);
    }
    context.printExtra("Device updated successfully\n");
  },
};
