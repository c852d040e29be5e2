/**
 * `net-edit`: see `../network_verbs.ts`, where the network verbs share their lookups and layouts.
 *
 * @module
 */

export { netEditVerb } from "../network_verbs.ts";
