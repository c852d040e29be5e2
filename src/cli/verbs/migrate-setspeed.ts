/**
 * `migrate-setspeed` (in `migrate_limit_verbs.ts`, beside the other migration limits).
 *
 * @module
 */

export { migrateSetspeedVerb } from "../migrate_limit_verbs.ts";
