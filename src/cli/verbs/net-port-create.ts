/**
 * `net-port-create`: see `../network_port_verbs.ts`, where the network port verbs share their
 * lookups and layouts.
 *
 * @module
 */

export { netPortCreateVerb } from "../network_port_verbs.ts";
