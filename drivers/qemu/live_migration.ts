/**
 * Live migration of a running QEMU instance to another QEMU over TCP (QMP `migrate` on the
 * source, `migrate-incoming` on a destination started with `-incoming defer`), as libvirt's
 * QEMU driver drives it:
 *
 * - the destination listens on `tcp:<address>:<port>` once told (`migrate-incoming`);
 * - the source's downtime limit and bandwidth are set (`migrate-set-parameters`), then `migrate`;
 *   its progress is `query-migrate`'s, polled until `completed` (QEMU then has the source's CPUs
 *   stopped: its run state is `postmigrate`), `failed` or `cancelled`;
 * - `migrate_cancel` stops a migration in flight: the source's guest runs on.
 *
 * The service never carries the stream: QEMU connects to QEMU.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import type { MigrationProgress, MigrationTuning } from "../../actors/driver_protocol.ts";
import type { QmpExecutor } from "./qmp_commands.ts";
import { isRecord } from "./qmp_protocol.ts";
import { MIGRATION_POLL_MS, MIGRATION_TIMEOUT_MS } from "./qmp_migration.ts";

const MIB = 1024 * 1024;

/**
 * Reply timeout of the migration's queries, in ms: QEMU answers its monitor late while the
 * migration thread holds the big lock (the default query timeout is far shorter).
 */
export const MIGRATION_QUERY_TIMEOUT_MS = 10_000;

function figure(record: Record<string, unknown>, key: string): number | undefined {
  const value = record[key];
  return typeof value === "number" ? value : undefined;
}

/** `query-migrate` as a progress record (null: no migration was ever started). */
export async function migrationProgress(
  monitor: QmpExecutor,
  signal: AbortSignal,
): Promise<MigrationProgress | null> {
  const reply = await monitor.execute<unknown>("query-migrate", undefined, {
    signal,
    timeoutMs: MIGRATION_QUERY_TIMEOUT_MS,
  });
  if (!isRecord(reply) || typeof reply.status !== "string") return null;
  const ram = isRecord(reply.ram) ? reply.ram : {};
  const progress: MigrationProgress = {
    status: reply.status,
    totalTimeMs: figure(reply, "total-time") ?? 0,
    ...(figure(reply, "downtime") === undefined ? {} : { downtimeMs: figure(reply, "downtime") }),
    ...(figure(reply, "expected-downtime") === undefined
      ? {}
      : { expectedDowntimeMs: figure(reply, "expected-downtime") }),
    ...(figure(reply, "setup-time") === undefined
      ? {}
      : { setupTimeMs: figure(reply, "setup-time") }),
    memoryTotalBytes: figure(ram, "total") ?? 0,
    memoryProcessedBytes: figure(ram, "transferred") ?? 0,
    memoryRemainingBytes: figure(ram, "remaining") ?? 0,
    memoryConstantPages: figure(ram, "duplicate") ?? 0,
    memoryNormalPages: figure(ram, "normal") ?? 0,
    memoryNormalBytes: figure(ram, "normal-bytes") ?? 0,
    memoryDirtyRate: figure(ram, "dirty-pages-rate") ?? 0,
    memoryIterations: figure(ram, "dirty-sync-count") ?? 0,
    ...(figure(ram, "page-size") === undefined ? {} : { memoryPageSize: figure(ram, "page-size") }),
    ...(figure(ram, "postcopy-requests") === undefined
      ? {}
      : { memoryPostcopyRequests: figure(ram, "postcopy-requests") }),
    memoryBps: Math.round((figure(ram, "mbps") ?? 0) * 1e6 / 8),
    ...(typeof reply["error-desc"] === "string" ? { error: reply["error-desc"] } : {}),
  };
  return progress;
}

/** Sets the downtime limit (ms) and bandwidth (MiB/s) the next or current migration uses. */
export async function tuneMigration(
  monitor: QmpExecutor,
  tuning: MigrationTuning,
  signal: AbortSignal,
): Promise<void> {
  const parameters: Record<string, number> = {};
  if (tuning.maxDowntimeMs !== undefined) parameters["downtime-limit"] = tuning.maxDowntimeMs;
  if (tuning.bandwidthMiB !== undefined) {
    parameters["max-bandwidth"] = tuning.bandwidthMiB * MIB;
  }
  if (Object.keys(parameters).length === 0) return;
  await monitor.execute("migrate-set-parameters", parameters, { signal });
}

/** The downtime limit (ms) and bandwidth limit (MiB/s) in force (`query-migrate-parameters`). */
export async function migrationLimits(
  monitor: QmpExecutor,
  signal: AbortSignal,
): Promise<Required<MigrationTuning>> {
  const reply = await monitor.execute<unknown>("query-migrate-parameters", undefined, {
    signal,
    timeoutMs: MIGRATION_QUERY_TIMEOUT_MS,
  });
  const parameters = isRecord(reply) ? reply : {};
  return {
    maxDowntimeMs: figure(parameters, "downtime-limit") ?? 0,
    bandwidthMiB: Math.floor((figure(parameters, "max-bandwidth") ?? 0) / MIB),
  };
}

/** Makes an instance started with `-incoming defer` listen for the stream on `address:port`. */
export async function listenForMigration(
  monitor: QmpExecutor,
  address: string,
  port: number,
  signal: AbortSignal,
): Promise<void> {
  await monitor.execute("migrate-incoming", { uri: `tcp:${address}:${port}` }, { signal });
}

/**
 * Sends the running instance's state to `address:port` and resolves once QEMU says
 * `completed` (the source's CPUs are then stopped). `onStarted` runs once QEMU accepted the
 * `migrate`; `onProgress` is told each poll's figures.
 *
 * @throws {VirtError} OPERATION_FAILED with QEMU's reason when it fails; OPERATION_ABORTED when
 *   it was cancelled (`domjobabort`); OPERATION_TIMEOUT past {@linkcode MIGRATION_TIMEOUT_MS}.
 */
export async function sendMigration(
  monitor: QmpExecutor,
  target: { address: string; port: number },
  signal: AbortSignal,
  onProgress?: (progress: MigrationProgress) => void,
): Promise<MigrationProgress> {
  await monitor.execute("migrate", { uri: `tcp:${target.address}:${target.port}` }, { signal });
  try {
    return await waitForOutcome(
      monitor,
      "outgoing migration",
      signal,
      MIGRATION_TIMEOUT_MS,
      onProgress,
    );
  } catch (error) {
    // Given up on (a timeout, the monitor, the caller): QEMU must not go on sending.
    if (!(error instanceof VirtError && ENDED_BY_QEMU.has(error.code))) {
      await cancelMigration(monitor, AbortSignal.timeout(MIGRATION_QUERY_TIMEOUT_MS))
        .catch(() => {});
    }
    throw error;
  }
}

/** The codes of a migration QEMU itself ended (failed, cancelled). */
const ENDED_BY_QEMU: ReadonlySet<number> = new Set([
  ErrorCode.OPERATION_FAILED,
  ErrorCode.OPERATION_ABORTED,
]);

/** Polls `query-migrate` until `completed`; `failed` or `cancelled` reject. */
export async function waitForOutcome(
  monitor: QmpExecutor,
  job: string,
  signal: AbortSignal,
  timeoutMs = MIGRATION_TIMEOUT_MS,
  onProgress?: (progress: MigrationProgress) => void,
): Promise<MigrationProgress> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    signal.throwIfAborted();
    const progress = await migrationProgress(monitor, signal);
    if (progress !== null) onProgress?.(progress);
    if (progress?.status === "completed") return progress;
    if (progress?.status === "cancelled") {
      throw new VirtError(
        ErrorCode.OPERATION_ABORTED,
        `${job}: operation aborted: canceled by client`,
      );
    }
    if (progress?.status === "failed") {
      throw new VirtError(
        ErrorCode.OPERATION_FAILED,
        `${job} failed${progress.error === undefined ? "" : `: ${progress.error}`}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, MIGRATION_POLL_MS));
  }
  throw new VirtError(ErrorCode.OPERATION_TIMEOUT, `${job} did not finish in time`);
}

/** Cancels the migration in flight (`migrate_cancel`); none: nothing happens. */
export async function cancelMigration(monitor: QmpExecutor, signal: AbortSignal): Promise<void> {
  await monitor.execute("migrate_cancel", undefined, {
    signal,
    timeoutMs: MIGRATION_QUERY_TIMEOUT_MS,
  });
}
