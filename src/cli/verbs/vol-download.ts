/**
 * `vol-download`: see `../volume_transfer_verbs.ts`, where both transfer verbs live.
 *
 * @module
 */

export { volDownloadVerb } from "../volume_transfer_verbs.ts";
