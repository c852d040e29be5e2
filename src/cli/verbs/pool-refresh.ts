/**
 * `pool-refresh`: see `../pool_verbs.ts`, where the storage verbs share their lookups and layouts.
 *
 * @module
 */

export { poolRefreshVerb } from "../pool_verbs.ts";
