/**
 * `net-list`: see `../network_verbs.ts`, where the network verbs share their lookups and layouts.
 *
 * @module
 */

export { netListVerb } from "../network_verbs.ts";
