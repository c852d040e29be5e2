/**
 * `reboot`: asks the guest to reboot.
 *
 * @module
 */

import { domainActionVerb } from "../domain_action.ts";

/**
 * The `reboot` verb.
 *
 * @example
 * ```sh
 * evirt reboot web   # Domain 'web' is being rebooted
 * ```
 */
export const rebootVerb = domainActionVerb({
  name: "reboot",
  action: "reboot",
  summary: "reboot a domain",
  progress: "asking the guest to reboot",
  done: (name) => `Domain '${name}' is being rebooted`,
  options: [{ name: "mode", kind: "string", help: "shutdown mode: acpi|agent" }],
  actionOptions: (args) => {
    const mode = args.text("mode");
    return mode === undefined ? {} : { mode };
  },
  failed: (name) => `Failed to reboot domain '${name}'`,
});
