/**
 * `vol-wipe`: see `../volume_verbs.ts`, where the storage verbs share their lookups and layouts.
 *
 * @module
 */

export { volWipeVerb } from "../volume_verbs.ts";
