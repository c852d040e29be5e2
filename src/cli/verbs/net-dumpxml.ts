/**
 * `net-dumpxml`: see `../network_verbs.ts`, where the network verbs share their lookups and layouts.
 *
 * @module
 */

export { netDumpxmlVerb } from "../network_verbs.ts";
