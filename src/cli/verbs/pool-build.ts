/**
 * `pool-build`: see `../pool_verbs.ts`, where the storage verbs share their lookups and layouts.
 *
 * @module
 */

export { poolBuildVerb } from "../pool_verbs.ts";
