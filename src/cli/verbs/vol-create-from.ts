/**
 * `vol-create-from`: see `../volume_verbs.ts`, where the storage verbs share their lookups and layouts.
 *
 * @module
 */

export { volCreateFromVerb } from "../volume_verbs.ts";
