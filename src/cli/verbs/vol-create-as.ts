/**
 * `vol-create-as`: see `../volume_verbs.ts`, where the storage verbs share their lookups and layouts.
 *
 * @module
 */

export { volCreateAsVerb } from "../volume_verbs.ts";
