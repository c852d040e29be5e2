/**
 * `net-port-delete`: see `../network_port_verbs.ts`, where the network port verbs share their
 * lookups and layouts.
 *
 * @module
 */

export { netPortDeleteVerb } from "../network_port_verbs.ts";
