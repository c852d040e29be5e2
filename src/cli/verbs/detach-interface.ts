/**
 * `detach-interface`: finds the interface by type (and `--mac`) in the domain's XML and
 * detaches it, as virsh 9.0 does: from the definition (the inactive XML) with `--config` or
 * `--persistent`, then from the running guest (the live XML) unless only the definition was
 * asked for; its refusals name what was not found, then "Failed to detach interface".
 *
 * @module
 */

import { ArgumentError, type VerbArguments } from "../arguments.ts";
import { CommandFailure } from "../command_failure.ts";
import {
  DEVICE_SCOPE_OPTIONS,
  type DeviceScope,
  deviceScope,
  elementXml,
} from "../device_scope.ts";
import { domainInterfaces, interfaceMac, sameMac } from "../interface_lookup.ts";
import type { XmlElement } from "../../model/xml_extra.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";

const FAILED = "Failed to detach interface";

/** virsh's own refusal, followed by its "Failed to detach interface". */
function refusal(message: string): CommandFailure {
  return new CommandFailure(message, new CommandFailure(FAILED));
}

/**
 * The interface virsh picks: those of `type`; with `mac`, the one with that address.
 *
 * @throws {CommandFailure} None of the type; several without `--mac`; none or several with it.
 */
export function pickInterface(
  interfaces: readonly XmlElement[],
  type: string,
  mac: string | undefined,
): XmlElement {
  const ofType = interfaces.filter((each) => each.attributes?.type === type);
  if (ofType.length === 0) throw refusal(`No interface found whose type is ${type}`);
  if (mac === undefined) {
    if (ofType.length > 1) {
      throw refusal(
        `Domain has ${ofType.length} interfaces. Please specify which one to detach using --mac`,
      );
    }
    return ofType[0];
  }
  const matching = ofType.filter((each) => sameMac(interfaceMac(each), mac));
  if (matching.length > 1) {
    throw refusal(
      `Domain has multiple interfaces matching MAC address ${mac}. You must use detach-device and specify the device pci address to remove it.`,
    );
  }
  if (matching.length === 0) throw refusal(`No interface with MAC address ${mac} was found`);
  return matching[0];
}

/**
 * The `detach-interface` verb.
 *
 * @example
 * ```sh
 * evirt detach-interface web user --mac 52:54:00:11:22:33 --live   # Interface detached successfully
 * ```
 */
export const detachInterfaceVerb: Verb = {
  name: "detach-interface",
  summary: "detach network interface",
  options: [
    DOMAIN_OPTION,
    {
      name: "type",
      kind: "string",
      positional: true,
      required: true,
      help: "network interface type",
    },
    { name: "mac", kind: "string", help: "MAC address" },
    ...DEVICE_SCOPE_OPTIONS,
    {
      name: "print-xml",
      kind: "bool",
      help: "print XML document rather than detach the interface",
    },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    if (args.flag("persistent") && args.flag("current")) {
      throw new ArgumentError(
        "Options --persistent and --current are mutually exclusive",
        "--persistent",
      );
    }
    const scope = await deviceScope(context, args, reference, true);
    const type = args.required("type");
    const mac = args.text("mac");
    // virsh 9.0 detaches in two passes: from the definition (found in the inactive XML, config
    // only), then from the running guest (found in the live XML) unless only the definition
    // was asked for.
    const passes: { inactive: boolean; scope: DeviceScope }[] = [];
    if (scope.config === true) passes.push({ inactive: true, scope: { config: true } });
    if (scope.config !== true || scope.live === true) {
      passes.push({ inactive: false, scope: scope.live === true ? { live: true } : scope });
    }
    const pending: string[] = [];
    for (const pass of passes) {
      const interfaces = await domainInterfaces(context, reference, pass.inactive);
      const xml = await elementXml(pickInterface(interfaces, type, mac));
      if (args.flag("print-xml")) {
        context.print(`${xml}\n`);
        continue;
      }
      try {
        pending.push(
          ...(await context.client.changeDevice(reference, "detach", xml, pass.scope)).pending,
        );
      } catch (error) {
        throw new CommandFailure(FAILED, error);
      }
    }
    if (args.flag("print-xml")) return;
    if (pending.length > 0) context.warn(`removal of ${pending.join(", ")} is in progress`);
    context.printExtra("Interface detached successfully\n");
  },
};
