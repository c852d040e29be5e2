/**
 * `pool-info`: see `../pool_verbs.ts`, where the storage verbs share their lookups and layouts.
 *
 * @module
 */

export { poolInfoVerb } from "../pool_verbs.ts";
