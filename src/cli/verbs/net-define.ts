/**
 * `net-define`: see `../network_verbs.ts`, where the network verbs share their lookups and layouts.
 *
 * @module
 */

export { netDefineVerb } from "../network_verbs.ts";
