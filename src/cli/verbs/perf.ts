/**
 * `perf`: shows which perf events a domain counts, or starts (`--enable`) and stops
 * (`--disable`) counting them — on the running instance (`--live`, the default while it runs)
 * and/or in the persistent definition (`--config`). Lines as virsh prints them.
 *
 * @module
 */

import type { VerbArguments } from "../arguments.ts";
import { domainCommand } from "../command_failure.ts";
import { metadataScope, SCOPE_OPTIONS } from "../metadata_scope.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";

/** virsh's lines: each event padded to 15 columns (the blank line after is every verb's). */
function statusLines(events: ReadonlyArray<{ name: string; enabled: boolean }>): string {
  const lines = events.map(({ name, enabled }) =>
    `${name.padEnd(15)}: ${enabled ? "enabled" : "disabled"}\n`
  );
  return lines.join("");
}

/**
 * The `perf` verb.
 *
 * @example
 * ```sh
 * evirt perf web
 * evirt perf web --enable cpu_clock,task_clock --live
 * evirt perf web --disable page_faults --config
 * ```
 */
export const perfVerb: Verb = {
  name: "perf",
  summary: "Get or set perf event",
  options: [
    DOMAIN_OPTION,
    { name: "enable", kind: "string", help: "perf events which will be enabled" },
    { name: "disable", kind: "string", help: "perf events which will be disabled" },
    ...SCOPE_OPTIONS,
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const scope = metadataScope(args);
    const split = (name: string, enabled: boolean) =>
      (args.text(name) ?? "").split(",").filter((event) => event !== "").map((event) => ({
        name: event,
        enabled,
      }));
    const settings = [...split("enable", true), ...split("disable", false)];
    if (settings.length === 0) {
      const events = await domainCommand(
        reference,
        "Unable to get perf events",
        () => context.client.perfEvents(reference, scope),
      );
      context.print(statusLines(events));
      return;
    }
    await domainCommand(
      reference,
      "Unable to enable/disable perf events",
      () =>
        context.client.setPerfEvents(reference, {
          ...scope,
          ...(args.text("enable") === undefined ? {} : { enable: args.text("enable") }),
          ...(args.text("disable") === undefined ? {} : { disable: args.text("disable") }),
        }),
    );
    context.print(statusLines(settings));
  },
};
