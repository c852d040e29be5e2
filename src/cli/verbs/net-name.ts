/**
 * `net-name`: see `../network_verbs.ts`, where the network verbs share their lookups and layouts.
 *
 * @module
 */

export { netNameVerb } from "../network_verbs.ts";
