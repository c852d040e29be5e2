/**
 * `pool-destroy`: see `../pool_verbs.ts`, where the storage verbs share their lookups and layouts.
 *
 * @module
 */

export { poolDestroyVerb } from "../pool_verbs.ts";
