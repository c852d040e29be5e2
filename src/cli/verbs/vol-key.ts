/**
 * `vol-key`: see `../volume_verbs.ts`, where the storage verbs share their lookups and layouts.
 *
 * @module
 */

export { volKeyVerb } from "../volume_verbs.ts";
