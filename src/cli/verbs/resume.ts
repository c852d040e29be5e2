/**
 * `resume`: runs a paused domain's CPUs again.
 *
 * @module
 */

import { domainActionVerb } from "../domain_action.ts";

/**
 * The `resume` verb.
 *
 * @example
 * ```sh
 * evirt resume web   # Domain 'web' resumed
 * ```
 */
export const resumeVerb = domainActionVerb({
  name: "resume",
  action: "resume",
  summary: "resume a domain",
  progress: "resuming domain",
  done: (name) => `Domain '${name}' resumed`,
  failed: (name) => `Failed to resume domain '${name}'`,
});
