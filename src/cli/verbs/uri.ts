/**
 * `uri`: the connection URI (answered without connecting).
 *
 * @module
 */

import type { Verb, VerbContext } from "../verb.ts";

/**
 * The `uri` verb.
 *
 * @example
 * ```sh
 * EVIRT_DEFAULT_URI=test:///default evirt uri   # test:///default
 * ```
 */
export const uriVerb: Verb = {
  name: "uri",
  summary: "print the hypervisor canonical URI",
  offline: true,
  options: [],
  run(context: VerbContext) {
    context.print(`${context.uri}\n`);
    return Promise.resolve();
  },
};
