/**
 * `vol-resize`: see `../volume_verbs.ts`, where the storage verbs share their lookups and layouts.
 *
 * @module
 */

export { volResizeVerb } from "../volume_verbs.ts";
