/**
 * `secret-set-value`: see `../secret_verbs.ts`, where the secret verbs share their lookups and layouts.
 *
 * @module
 */

export { secretSetValueVerb } from "../secret_verbs.ts";
