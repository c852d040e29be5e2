/**
 * `vol-name`: see `../volume_verbs.ts`, where the storage verbs share their lookups and layouts.
 *
 * @module
 */

export { volNameVerb } from "../volume_verbs.ts";
