/**
 * `migrate-getmaxdowntime` (in `migrate_limit_verbs.ts`, beside the other migration limits).
 *
 * @module
 */

export { migrateGetmaxdowntimeVerb } from "../migrate_limit_verbs.ts";
