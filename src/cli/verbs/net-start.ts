/**
 * `net-start`: see `../network_verbs.ts`, where the network verbs share their lookups and layouts.
 *
 * @module
 */

export { netStartVerb } from "../network_verbs.ts";
