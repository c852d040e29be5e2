/**
 * `net-info`: see `../network_verbs.ts`, where the network verbs share their lookups and layouts.
 *
 * @module
 */

export { netInfoVerb } from "../network_verbs.ts";
