/**
 * `net-destroy`: see `../network_verbs.ts`, where the network verbs share their lookups and layouts.
 *
 * @module
 */

export { netDestroyVerb } from "../network_verbs.ts";
