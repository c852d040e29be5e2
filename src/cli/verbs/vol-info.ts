/**
 * `vol-info`: see `../volume_verbs.ts`, where the storage verbs share their lookups and layouts.
 *
 * @module
 */

export { volInfoVerb } from "../volume_verbs.ts";
