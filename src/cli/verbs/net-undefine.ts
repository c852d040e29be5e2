/**
 * `net-undefine`: see `../network_verbs.ts`, where the network verbs share their lookups and layouts.
 *
 * @module
 */

export { netUndefineVerb } from "../network_verbs.ts";
