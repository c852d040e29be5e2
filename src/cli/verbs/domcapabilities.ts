/**
 * `domcapabilities`: what an emulator, machine, architecture and domain type can run, as virsh
 * prints it.
 *
 * @module
 */

import type { VerbArguments } from "../arguments.ts";
import { asFailure } from "../command_failure.ts";
import type { Verb, VerbContext } from "../verb.ts";

/** virsh's option names and the query field each fills. */
const QUERY_OPTIONS = [
  ["virttype", "virtualization type (/domain/@type)"],
  ["emulatorbin", "path to emulator binary (/domain/devices/emulator)"],
  ["arch", "domain architecture (/domain/os/type/@arch)"],
  ["machine", "machine type (/domain/os/type/@machine)"],
] as const;

/**
 * The `domcapabilities` verb.
 *
 * @example
 * ```sh
 * evirt domcapabilities --machine q35
 * ```
 */
export const domcapabilitiesVerb: Verb = {
  name: "domcapabilities",
  summary: "domain capabilities",
  options: QUERY_OPTIONS.map(([name, help]) => ({ name, kind: "string" as const, help })),
  async run(context: VerbContext, args: VerbArguments) {
    const query: Record<string, string> = {};
    for (const [name] of QUERY_OPTIONS) {
      const value = args.text(name);
      if (value !== undefined) query[name] = value;
    }
    context.print(
      `${await asFailure(
        "failed to get emulator capabilities",
        () => context.client.domainCapabilities(query),
      )}\n`,
    );
  },
};
