/**
 * `secret-list`: see `../secret_verbs.ts`, where the secret verbs share their lookups and layouts.
 *
 * @module
 */

export { secretListVerb } from "../secret_verbs.ts";
