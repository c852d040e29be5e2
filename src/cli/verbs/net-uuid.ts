/**
 * `net-uuid`: see `../network_verbs.ts`, where the network verbs share their lookups and layouts.
 *
 * @module
 */

export { netUuidVerb } from "../network_verbs.ts";
