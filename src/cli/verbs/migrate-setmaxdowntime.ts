/**
 * `migrate-setmaxdowntime` (in `migrate_limit_verbs.ts`, beside the other migration limits).
 *
 * @module
 */

export { migrateSetmaxdowntimeVerb } from "../migrate_limit_verbs.ts";
