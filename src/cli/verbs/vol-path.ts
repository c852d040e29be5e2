/**
 * `vol-path`: see `../volume_verbs.ts`, where the storage verbs share their lookups and layouts.
 *
 * @module
 */

export { volPathVerb } from "../volume_verbs.ts";
