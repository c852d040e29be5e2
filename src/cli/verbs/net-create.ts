/**
 * `net-create`: see `../network_verbs.ts`, where the network verbs share their lookups and layouts.
 *
 * @module
 */

export { netCreateVerb } from "../network_verbs.ts";
