/**
 * `secret-dumpxml`: see `../secret_verbs.ts`, where the secret verbs share their lookups and layouts.
 *
 * @module
 */

export { secretDumpxmlVerb } from "../secret_verbs.ts";
