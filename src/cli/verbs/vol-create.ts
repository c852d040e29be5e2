/**
 * `vol-create`: see `../volume_verbs.ts`, where the storage verbs share their lookups and layouts.
 *
 * @module
 */

export { volCreateVerb } from "../volume_verbs.ts";
