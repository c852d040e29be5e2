/**
 * `suspend`: pauses a running domain's CPUs.
 *
 * @module
 */

import { domainActionVerb } from "../domain_action.ts";

/**
 * The `suspend` verb.
 *
 * @example
 * ```sh
 * evirt suspend web   # Domain 'web' suspended
 * ```
 */
export const suspendVerb = domainActionVerb({
  name: "suspend",
  action: "suspend",
  summary: "suspend a domain",
  progress: "suspending domain",
  done: (name) => `Domain '${name}' suspended`,
  failed: (name) => `Failed to suspend domain '${name}'`,
});
