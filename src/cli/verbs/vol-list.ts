/**
 * `vol-list`: see `../volume_verbs.ts`, where the storage verbs share their lookups and layouts.
 *
 * @module
 */

export { volListVerb } from "../volume_verbs.ts";
