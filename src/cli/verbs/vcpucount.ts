/**
 * `vcpucount`: a domain's vCPU counts: all four (maximum and current, config and live) as a
 * table, or the one the options name.
 *
 * @module
 */

import { ErrorCode, isVirtError } from "../../model/errors.ts";
import { ArgumentError, type VerbArguments } from "../arguments.ts";
import { CommandFailure, domainCommand } from "../command_failure.ts";
import { metadataScope, SCOPE_OPTIONS } from "../metadata_scope.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";

type CountFlags = { live?: boolean; config?: boolean; maximum?: boolean; guest?: boolean };

/**
 * The `vcpucount` verb.
 *
 * @example
 * ```sh
 * evirt vcpucount web            # maximum/current × config/live
 * evirt vcpucount web --live --active
 * ```
 */
export const vcpucountVerb: Verb = {
  name: "vcpucount",
  summary: "domain vcpu counts",
  options: [
    DOMAIN_OPTION,
    { name: "maximum", kind: "bool", help: "get maximum count of vcpus" },
    { name: "active", kind: "bool", help: "get number of currently active vcpus" },
    ...SCOPE_OPTIONS,
    {
      name: "guest",
      kind: "bool",
      help: "retrieve vcpu count from the guest instead of the hypervisor",
    },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const scope = metadataScope(args);
    for (const [one, other] of [["active", "maximum"], ["guest", "config"]]) {
      if (args.flag(one) && args.flag(other)) {
        throw new ArgumentError(`Options --${one} and --${other} are mutually exclusive`, one);
      }
    }
    const names = ["maximum", "active", "live", "config", "current", "guest"];
    const all = names.every((name) => !args.flag(name));
    const client = context.client;
    if (!all) {
      const flags: CountFlags = {
        ...scope,
        ...(args.flag("maximum") ? { maximum: true } : {}),
        ...(args.flag("guest") ? { guest: true } : {}),
      };
      const count = await domainCommand(
        reference,
        undefined,
        () =>
          client.vcpuCount(reference, flags).catch((error) => {
            // virsh names the guest query's failure, but not a missing agent (seen with 9.0).
            if (!flags.guest || isVirtError(error, ErrorCode.ARGUMENT_UNSUPPORTED)) throw error;
            throw new CommandFailure("Failed to retrieve vCPU count from the guest", error);
          }),
      );
      context.print(`${count}\n`);
      return;
    }
    const summary = await domainCommand(reference, undefined, () => client.info(reference));
    const active = summary.id !== null;
    const rows: [string, string, CountFlags, boolean][] = [
      ["maximum", "config", { config: true, maximum: true }, summary.persistent],
      ["maximum", "live", { live: true, maximum: true }, active],
      ["current", "config", { config: true }, summary.persistent],
      ["current", "live", { live: true }, active],
    ];
    let text = "";
    for (const [which, state, flags, applies] of rows) {
      if (!applies) continue;
      const count = await client.vcpuCount(reference, flags).catch((error) => {
        throw new CommandFailure(`Failed to retrieve vCPU count`, error);
      });
      text += `${which.padEnd(12)} ${state.padEnd(12)} ${String(count).padStart(3)}\n`;
    }
    context.print(text);
  },
};
