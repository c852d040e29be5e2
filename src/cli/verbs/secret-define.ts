/**
 * `secret-define`: see `../secret_verbs.ts`, where the secret verbs share their lookups and layouts.
 *
 * @module
 */

export { secretDefineVerb } from "../secret_verbs.ts";
