/**
 * `capabilities`: the host's capabilities XML (its CPU and NUMA topology, the guests its drivers
 * run), as virsh prints it.
 *
 * @module
 */

import { asFailure } from "../command_failure.ts";
import type { Verb, VerbContext } from "../verb.ts";

/**
 * The `capabilities` verb.
 *
 * @example
 * ```sh
 * evirt capabilities
 * ```
 */
export const capabilitiesVerb: Verb = {
  name: "capabilities",
  summary: "capabilities",
  options: [],
  async run(context: VerbContext) {
    // virsh ends the document with one more newline.
    context.print(
      `${await asFailure("failed to get capabilities", () => context.client.capabilities())}\n`,
    );
  },
};
