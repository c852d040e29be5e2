/**
 * `pool-list`: see `../pool_verbs.ts`, where the storage verbs share their lookups and layouts.
 *
 * @module
 */

export { poolListVerb } from "../pool_verbs.ts";
