/**
 * `secret-get-value`: see `../secret_verbs.ts`, where the secret verbs share their lookups and layouts.
 *
 * @module
 */

export { secretGetValueVerb } from "../secret_verbs.ts";
