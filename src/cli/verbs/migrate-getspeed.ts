/**
 * `migrate-getspeed` (in `migrate_limit_verbs.ts`, beside the other migration limits).
 *
 * @module
 */

export { migrateGetspeedVerb } from "../migrate_limit_verbs.ts";
