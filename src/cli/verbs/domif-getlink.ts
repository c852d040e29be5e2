/**
 * `domif-getlink`: as virsh 9.0, reads the domain's XML (inactive with `--config`), finds the
 * interface by MAC address or target device, and prints its link state (`up` when the XML
 * names none).
 *
 * @module
 */

import { ArgumentError, type VerbArguments } from "../arguments.ts";
import {
  domainInterfaces,
  interfaceLink,
  interfaceMac,
  interfaceTarget,
  looksLikeMac,
  sameMac,
} from "../interface_lookup.ts";
import { DOMAIN_OPTION, INTERFACE_OPTION, type Verb, type VerbContext } from "../verb.ts";

/**
 * The `domif-getlink` verb.
 *
 * @example
 * ```sh
 * evirt domif-getlink web 52:54:00:11:22:33   # 52:54:00:11:22:33 up
 * ```
 */
export const domifGetlinkVerb: Verb = {
  name: "domif-getlink",
  summary: "get link state of a virtual interface",
  options: [
    DOMAIN_OPTION,
    INTERFACE_OPTION,
    { name: "config", kind: "bool", help: "Get persistent interface state" },
    { name: "persistent", kind: "bool", help: "Get persistent interface state (as --config)" },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const name = args.required("interface");
    const config = args.flag("config") || args.flag("persistent");
    const interfaces = await domainInterfaces(context, reference, config);
    const byMac = looksLikeMac(name);
    const matching = interfaces.filter((each) =>
      byMac ? sameMac(interfaceMac(each), name) : interfaceTarget(each) === name
    );
    if (matching.length === 0) {
      throw new ArgumentError(`Interface (${byMac ? "mac" : "dev"}: ${name}) not found.`, name);
    }
    if (matching.length > 1) throw new ArgumentError("multiple matching interfaces found", name);
    context.print(`${name} ${interfaceLink(matching[0]) ?? "up"}`);
  },
};
