/**
 * `vol-pool`: see `../volume_verbs.ts`, where the storage verbs share their lookups and layouts.
 *
 * @module
 */

export { volPoolVerb } from "../volume_verbs.ts";
