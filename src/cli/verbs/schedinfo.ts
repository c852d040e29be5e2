/**
 * `schedinfo`: shows a domain's scheduler and its parameters, after setting some with `--set
 * name=value` (evirt also takes several at once, `name=value,name=value`) — on the running
 * instance (`--live`, the default while it runs) and/or in the persistent definition
 * (`--config`). Lines as virsh prints them: the scheduler first, whatever follows.
 *
 * @module
 */

import type { VerbArguments } from "../arguments.ts";
import { ErrorCode, VirtError } from "../../model/errors.ts";
import { CommandFailure, domainCommand } from "../command_failure.ts";
import { metadataScope, SCOPE_OPTIONS } from "../metadata_scope.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";

/** virsh's words for a parameter's type. */
function typeWords(name: string): string {
  if (name === "weight") return "unsigned int";
  return name.endsWith("_quota") ? "long long" : "unsigned long long";
}

/** virsh's line of one field: the name padded to 15 columns. */
const line = (name: string, value: string | number) => `${name.padEnd(15)}: ${value}\n`;

/**
 * The `schedinfo` verb.
 *
 * @example
 * ```sh
 * evirt schedinfo web
 * evirt schedinfo web --set cpu_shares=512 --live
 * evirt schedinfo web --set vcpu_quota=-1 --config
 * ```
 */
export const schedinfoVerb: Verb = {
  name: "schedinfo",
  summary: "show/set scheduler parameters",
  options: [
    DOMAIN_OPTION,
    { name: "set", kind: "string", help: "parameter=value" },
    ...SCOPE_OPTIONS,
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const scope = metadataScope(args);
    const set = args.text("set");
    const info = (asked: { live?: boolean; config?: boolean }) =>
      domainCommand(reference, undefined, () => context.client.schedulerInfo(reference, asked));
    // As virsh: the scheduler's name (of the current state) is printed before anything else;
    // live and config cannot be read at once, so both read the current state.
    context.print(line("Scheduler", (await info({})).scheduler));
    const query = scope.live && scope.config ? {} : scope;
    if (set !== undefined) {
      // virsh refuses a name the getter does not answer, or a value not of its type, before
      // asking the hypervisor.
      const known = new Set((await info(query)).parameters.map((parameter) => parameter.name));
      for (const part of set.split(",")) {
        const at = part.indexOf("=");
        const name = part.slice(0, Math.max(at, 0));
        if (!known.has(name)) {
          throw new CommandFailure(`invalid scheduler option: ${name === "" ? part : name}`);
        }
        if (!/^-?\d+$/.test(part.slice(at + 1))) {
          throw new VirtError(
            ErrorCode.INVALID_ARG,
            `Invalid value for field '${name}': expected ${typeWords(name)}`,
          );
        }
      }
      await domainCommand(
        reference,
        undefined,
        () => context.client.setSchedulerParameters(reference, { set, ...scope }),
      );
    }
    const after = await info(query);
    context.print(after.parameters.map(({ name, value }) => line(name, value)).join(""));
  },
};
