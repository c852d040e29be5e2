/**
 * `vol-delete`: see `../volume_verbs.ts`, where the storage verbs share their lookups and layouts.
 *
 * @module
 */

export { volDeleteVerb } from "../volume_verbs.ts";
