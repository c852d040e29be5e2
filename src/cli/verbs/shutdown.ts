/**
 * `shutdown`: asks the guest to shut down (it answers at once; the domain stops when the guest
 * has finished, which `event` or `domstate` show).
 *
 * @module
 */

import { domainActionVerb } from "../domain_action.ts";

/**
 * The `shutdown` verb.
 *
 * @example
 * ```sh
 * evirt shutdown web   # Domain 'web' is being shutdown
 * ```
 */
export const shutdownVerb = domainActionVerb({
  name: "shutdown",
  action: "shutdown",
  summary: "gracefully shutdown a domain",
  progress: "asking the guest to shut down",
  done: (name) => `Domain '${name}' is being shutdown`,
  options: [{ name: "mode", kind: "string", help: "shutdown mode: acpi|agent" }],
  actionOptions: (args) => {
    const mode = args.text("mode");
    return mode === undefined ? {} : { mode };
  },
  failed: (name) => `Failed to shutdown domain '${name}'`,
});
