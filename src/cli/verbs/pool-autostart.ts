/**
 * `pool-autostart`: see `../pool_verbs.ts`, where the storage verbs share their lookups and layouts.
 *
 * @module
 */

export { poolAutostartVerb } from "../pool_verbs.ts";
