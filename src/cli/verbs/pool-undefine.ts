/**
 * `pool-undefine`: see `../pool_verbs.ts`, where the storage verbs share their lookups and layouts.
 *
 * @module
 */

export { poolUndefineVerb } from "../pool_verbs.ts";
