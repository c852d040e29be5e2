/**
 * A running domain's live migration limits (`migrate-getspeed`, `migrate-setspeed`,
 * `migrate-getmaxdowntime`, `migrate-setmaxdowntime`): the next migration's, or the one in
 * flight. The migration's progress and cancel are the domain's job (`domain_jobs.ts`).
 *
 * @module
 */

import type { Host } from "./host.ts";
import type { MigrationTuning } from "./driver_protocol.ts";

/** A running domain's migration limits: bandwidth (MiB/s), downtime (ms). */
export async function migrationLimits(
  host: Host,
  reference: string,
  signal: AbortSignal,
): Promise<Required<MigrationTuning>> {
  const { migration, handle } = host.migrationControl(reference);
  return await migration.limits(handle, signal);
}

/** Sets a running domain's migration limits (the next migration's, or the one in flight). */
export async function setMigrationLimits(
  host: Host,
  reference: string,
  tuning: MigrationTuning,
  signal: AbortSignal,
): Promise<void> {
  const { migration, handle } = host.migrationControl(reference);
  await migration.tune(handle, tuning, signal);
}
