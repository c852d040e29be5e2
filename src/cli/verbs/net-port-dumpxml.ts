/**
 * `net-port-dumpxml`: see `../network_port_verbs.ts`, where the network port verbs share their
 * lookups and layouts.
 *
 * @module
 */

export { netPortDumpxmlVerb } from "../network_port_verbs.ts";
