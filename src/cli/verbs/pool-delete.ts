/**
 * `pool-delete`: see `../pool_verbs.ts`, where the storage verbs share their lookups and layouts.
 *
 * @module
 */

export { poolDeleteVerb } from "../pool_verbs.ts";
