/**
 * `setvcpus`: changes a domain's vCPU count: live by vCPU hotplug (the default for a running
 * domain, as virsh's), in the persistent definition (`--config`), or its maximum
 * (`--maximum --config`).
 *
 * @module
 */

import { ArgumentError, type VerbArguments } from "../arguments.ts";
import { domainCommand } from "../command_failure.ts";
import { metadataScope, SCOPE_OPTIONS } from "../metadata_scope.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";

/**
 * The `setvcpus` verb.
 *
 * @example
 * ```sh
 * evirt setvcpus web 4 --live
 * evirt setvcpus web 8 --maximum --config
 * ```
 */
export const setvcpusVerb: Verb = {
  name: "setvcpus",
  summary: "change number of virtual CPUs",
  options: [
    DOMAIN_OPTION,
    // A string parsed when the verb runs: virsh checks the number there, not while parsing.
    {
      name: "count",
      kind: "string",
      positional: true,
      required: true,
      help: "number of virtual CPUs",
    },
    { name: "maximum", kind: "bool", help: "set maximum limit on next boot" },
    ...SCOPE_OPTIONS,
    { name: "guest", kind: "bool", help: "modify cpu state in the guest" },
    { name: "hotpluggable", kind: "bool", help: "make added vcpus hot(un)pluggable" },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const scope = metadataScope(args);
    for (const [one, other] of [["guest", "config"], ["hotpluggable", "guest"]]) {
      if (args.flag(one) && args.flag(other)) {
        throw new ArgumentError(`Options --${one} and --${other} are mutually exclusive`, one);
      }
    }
    if (args.flag("maximum") && !args.flag("config")) {
      throw new ArgumentError("Option --config is required by option --maximum", "maximum");
    }
    const text = args.required("count");
    const count = /^[0-9]{1,10}$/.test(text) ? Number(text) : NaN;
    if (!(count <= 0xffffffff)) {
      throw new ArgumentError(
        `Numeric value '${text}' for <count> option is malformed or out of range`,
        "count",
      );
    }
    if (count === 0) throw new ArgumentError("Can't set 0 processors for a VM", "count");
    const given = args.flag("current") || scope.live || scope.config || args.flag("guest");
    const flags = {
      // virsh asks for the running instance when no scope is given.
      ...(given ? scope : { live: true }),
      ...(args.flag("maximum") ? { maximum: true } : {}),
      ...(args.flag("guest") ? { guest: true } : {}),
      ...(args.flag("hotpluggable") ? { hotpluggable: true } : {}),
    };
    await domainCommand(
      reference,
      undefined,
      () => context.client.setVcpus(reference, count, flags),
    );
  },
};
