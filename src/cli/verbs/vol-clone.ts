/**
 * `vol-clone`: see `../volume_verbs.ts`, where the storage verbs share their lookups and layouts.
 *
 * @module
 */

export { volCloneVerb } from "../volume_verbs.ts";
