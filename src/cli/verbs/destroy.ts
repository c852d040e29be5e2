/**
 * `destroy`: ends a domain's instance now (`--graceful`: without the forceful last step).
 *
 * @module
 */

import { domainActionVerb } from "../domain_action.ts";

/**
 * The `destroy` verb.
 *
 * @example
 * ```sh
 * evirt destroy web   # Domain 'web' destroyed
 * ```
 */
export const destroyVerb = domainActionVerb({
  name: "destroy",
  action: "destroy",
  summary: "destroy (stop) a domain",
  options: [{ name: "graceful", kind: "bool", help: "terminate gracefully" }],
  actionOptions: (args) => ({ graceful: args.flag("graceful") }),
  progress: "destroying domain",
  done: (name) => `Domain '${name}' destroyed`,
  failed: (name) => `Failed to destroy domain '${name}'`,
});
