/**
 * `net-autostart`: see `../network_verbs.ts`, where the network verbs share their lookups and layouts.
 *
 * @module
 */

export { netAutostartVerb } from "../network_verbs.ts";
