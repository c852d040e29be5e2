/**
 * `reset`: resets a domain as a hardware reset button would.
 *
 * @module
 */

import { domainActionVerb } from "../domain_action.ts";

/**
 * The `reset` verb.
 *
 * @example
 * ```sh
 * evirt reset web   # Domain 'web' was reset
 * ```
 */
export const resetVerb = domainActionVerb({
  name: "reset",
  action: "reset",
  summary: "reset a domain",
  progress: "resetting domain",
  done: (name) => `Domain '${name}' was reset`,
  failed: (name) => `Failed to reset domain '${name}'`,
});
