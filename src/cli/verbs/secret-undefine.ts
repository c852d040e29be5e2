/**
 * `secret-undefine`: see `../secret_verbs.ts`, where the secret verbs share their lookups and layouts.
 *
 * @module
 */

export { secretUndefineVerb } from "../secret_verbs.ts";
