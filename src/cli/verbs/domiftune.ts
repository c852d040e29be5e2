/**
 * `domiftune`: shows an interface's bandwidth parameters, or changes them (`--inbound`,
 * `--outbound`: `average[,peak[,burst[,floor]]]`, KiB/s and KiB) — on the running instance
 * (`--live`, the default while it runs: tc on its tap) and/or in the persistent definition
 * (`--config`). Lines as virsh prints them.
 *
 * @module
 */

import { ArgumentError, type VerbArguments } from "../arguments.ts";
import { parseRate } from "./attach-interface.ts";
import { domainCommand, domainFailure } from "../command_failure.ts";
import { metadataScope, SCOPE_OPTIONS } from "../metadata_scope.ts";
import { DOMAIN_OPTION, INTERFACE_OPTION, type Verb, type VerbContext } from "../verb.ts";

/**
 * The `domiftune` verb.
 *
 * @example
 * ```sh
 * evirt domiftune web vnet7n0
 * evirt domiftune web 52:54:00:6c:00:01 --inbound 1000,2000,256 --config
 * ```
 */
export const domiftuneVerb: Verb = {
  name: "domiftune",
  summary: "get/set parameters of a virtual interface",
  options: [
    DOMAIN_OPTION,
    INTERFACE_OPTION,
    { name: "inbound", kind: "string", help: "control domain's incoming traffics" },
    { name: "outbound", kind: "string", help: "control domain's outgoing traffics" },
    ...SCOPE_OPTIONS,
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const device = args.required("interface");
    const scope = metadataScope(args);
    const inbound = args.text("inbound");
    const outbound = args.text("outbound");
    // virsh's own checks of the rates, before it asks anything.
    for (const [direction, text] of [["inbound", inbound], ["outbound", outbound]] as const) {
      if (text === undefined) continue;
      const rate = parseRate(text, `--${direction}`);
      if (rate.average === 0 && rate.floor === 0 && (rate.peak !== 0 || rate.burst !== 0)) {
        throw new ArgumentError(
          direction === "inbound"
            ? "either inbound average or floor is mandatory"
            : "outbound average is mandatory",
          `--${direction}`,
        );
      }
    }
    if (inbound === undefined && outbound === undefined) {
      // virsh asks twice: the count (where the scope is refused), then the values (where an
      // unknown interface is); its first line names the call that failed.
      const parameters = await context.client.interfaceParameters(reference, device, scope)
        .catch((error) => {
          const unknown = /is not a known interface/.test(String((error as Error).message));
          throw domainFailure(
            reference,
            unknown
              ? "Unable to get interface parameters"
              : "Unable to get number of interface parameters",
            error,
          );
        });
      // virsh: each name padded to 15 columns, then its value.
      context.print(parameters.map(({ name, value }) => `${name.padEnd(15)}: ${value}\n`).join(""));
      return;
    }
    await domainCommand(
      reference,
      "Unable to set interface parameters",
      () =>
        context.client.setInterfaceParameters(reference, device, {
          ...scope,
          ...(inbound === undefined ? {} : { inbound }),
          ...(outbound === undefined ? {} : { outbound }),
        }),
    );
  },
};
