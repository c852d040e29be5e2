/**
 * `pool-create`: see `../pool_verbs.ts`, where the storage verbs share their lookups and layouts.
 *
 * @module
 */

export { poolCreateVerb } from "../pool_verbs.ts";
