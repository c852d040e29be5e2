/**
 * `vol-dumpxml`: see `../volume_verbs.ts`, where the storage verbs share their lookups and layouts.
 *
 * @module
 */

export { volDumpxmlVerb } from "../volume_verbs.ts";
