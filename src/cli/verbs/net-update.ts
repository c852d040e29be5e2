/**
 * `net-update`: see `../network_verbs.ts`, where the network verbs share their lookups and
 * layouts.
 *
 * @module
 */

export { netUpdateVerb } from "../network_verbs.ts";
