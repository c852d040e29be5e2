/**
 * `pool-start`: see `../pool_verbs.ts`, where the storage verbs share their lookups and layouts.
 *
 * @module
 */

export { poolStartVerb } from "../pool_verbs.ts";
