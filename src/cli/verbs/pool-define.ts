/**
 * `pool-define`: see `../pool_verbs.ts`, where the storage verbs share their lookups and layouts.
 *
 * @module
 */

export { poolDefineVerb } from "../pool_verbs.ts";
