/**
 * `vol-upload`: see `../volume_transfer_verbs.ts`, where both transfer verbs live.
 *
 * @module
 */

export { volUploadVerb } from "../volume_transfer_verbs.ts";
