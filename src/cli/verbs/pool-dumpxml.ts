/**
 * `pool-dumpxml`: see `../pool_verbs.ts`, where the storage verbs share their lookups and layouts.
 *
 * @module
 */

export { poolDumpxmlVerb } from "../pool_verbs.ts";
