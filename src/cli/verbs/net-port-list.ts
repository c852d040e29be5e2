/**
 * `net-port-list`: see `../network_port_verbs.ts`, where the network port verbs share their
 * lookups and layouts.
 *
 * @module
 */

export { netPortListVerb } from "../network_port_verbs.ts";
