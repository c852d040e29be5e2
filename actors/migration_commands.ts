/**
 * Live migration of a running guest between two hosts of a fleet, each side a job in its
 * domain's queue. The domain's lease (who owns it in the fleet) is the one decision: the host it
 * names has the guest.
 *
 * Source (the owner):
 * 1. intent `domain.migrating` (out, the destination host) before anything is asked;
 * 2. the destination prepares (its own intent, naming the port, then an instance listening);
 * 3. the hypervisor sends the guest's state; at the switch-over its CPUs stop here:
 *    SUSPENDED/migrated, paused (migration);
 * 4. the destination commits (takes the lease at the revision it had when the source asked)
 *    and runs the guest; then the source ends its instance: STOPPED/migrated.
 *
 * Destination:
 * 1. intent `domain.migrating` (in, the source host, the port), then the instance is launched
 *    waiting for the stream: STARTED/migrated, paused (migration);
 * 2. on the source's word, once the stream is complete: the lease is taken (compare-and-set on
 *    the revision the source read: the commit), then the CPUs run: RESUMED/migrated.
 *
 * A failure before the commit leaves the guest on the source: the source fences the lease
 * (rewrites it, so a late commit fails), runs its guest again if the migration stopped it
 * (RESUMED/migrated, running (migration canceled)) and the destination ends its instance
 * (STOPPED/failed). After a crash of either service, {@linkcode settleMigration} does the same
 * by the lease: the side it names has the guest, the other side ends its instance.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../src/model/errors.ts";
import { PausedReason } from "../src/model/lifecycle.ts";
import type { DomainDefinition } from "../src/model/domain.ts";
import type { JobContext } from "./domain_actor.ts";
import { type CommandEnvironment, handleOf, start } from "./domain_commands.ts";
import { endInstance } from "./domain_intents.ts";
import { isActive, pendingMigration, statePath } from "./domain_machine.ts";
import type {
  DomainHandle,
  Driver,
  MigrationDriver,
  MigrationProgress,
} from "./driver_protocol.ts";

/** Longest a destination waits for a complete stream once the source says it sent it, in ms. */
export const RECEIVE_TIMEOUT_MS = 30_000;

/** The address migrations use between the hosts of a fleet on one machine. */
export const MIGRATION_ADDRESS = "127.0.0.1";

/** The destination, as the source's job asks it. */
export interface MigrationPeer {
  /** Launches the receiving instance; answers the port it listens on. */
  prepare(): Promise<{ port: number }>;
  /**
   * The stream was sent (`figures`: the hypervisor's final ones): commit at lease `revision` and
   * run the guest.
   */
  finish(revision: number, figures: MigrationProgress): Promise<void>;
  /** Ends the receiving instance (nothing when there is none). */
  abort(): Promise<void>;
}

/** The domain's lease, as the source's job sees it. */
export interface MigrationLease {
  /** The owner and revision as the fleet has them now. */
  read(): Promise<{ owner: string; revision: number } | undefined>;
  /** Rewrites the lease as this host's (a new revision, so no earlier one commits); false when it changed. */
  fence(): Promise<boolean>;
  /** This host's name. */
  host: string;
}

function migrationOf(driver: Driver): MigrationDriver {
  if (driver.migration === undefined) {
    throw new VirtError(ErrorCode.NO_SUPPORT, "virDomainMigrate3");
  }
  return driver.migration;
}

/** What a source's job needs from the driver and the domain. */
function sourceParts(job: JobContext, env: CommandEnvironment) {
  const handle = handleOf(job.snapshot);
  const driver = env.driverFor(handle.definition);
  return { handle, driver, migration: migrationOf(driver) };
}

/**
 * Sends the running (or paused) guest to the destination (see the module); resolves with the
 * hypervisor's final figures once the destination runs it and this instance is ended.
 *
 * @throws {VirtError} 55 when the domain is not active or already migrating; 3 without driver
 *   support; the destination's or hypervisor's error (the guest then runs on here).
 */
export async function migrateOut(
  job: JobContext,
  env: CommandEnvironment,
  args: { migration: string; host: string; peer: MigrationPeer; lease: MigrationLease },
): Promise<MigrationProgress> {
  const path = statePath(job.snapshot);
  if (path !== "active.running" && path !== "active.paused") {
    throw new VirtError(ErrorCode.OPERATION_INVALID, "domain is not running");
  }
  if (pendingMigration(job.snapshot) !== null) {
    throw new VirtError(ErrorCode.OPERATION_INVALID, "domain has an active migration job");
  }
  const { handle, driver, migration } = sourceParts(job, env);
  const wasRunning = path === "active.running";
  await job.append([{
    type: "domain.migrating",
    body: { migration: args.migration, direction: "out", host: args.host },
  }]);
  let port: number;
  try {
    ({ port } = await args.peer.prepare());
  } catch (error) {
    await args.peer.abort().catch(() => {});
    await job.append([{
      type: "domain.migration_ended",
      body: { migration: args.migration, outcome: "failed" },
    }]);
    throw error;
  }
  let figures: MigrationProgress;
  try {
    figures = await migration.send(handle, { address: MIGRATION_ADDRESS, port }, job.signal);
  } catch (error) {
    await args.peer.abort().catch(() => {});
    await migration.resync(handle, job.signal).catch(() => {});
    await job.append([{
      type: "domain.migration_ended",
      body: {
        migration: args.migration,
        outcome: error instanceof VirtError && error.code === ErrorCode.OPERATION_ABORTED
          ? "cancelled"
          : "failed",
      },
    }]);
    throw error;
  }
  if (wasRunning) {
    await job.append([{
      type: "domain.suspended",
      body: { detail: "migrated", reason: "migration" },
    }]);
  }
  const lease = await args.lease.read();
  try {
    if (lease === undefined || lease.owner !== args.lease.host) {
      throw new VirtError(ErrorCode.OPERATION_FAILED, "this host no longer owns the domain");
    }
    await args.peer.finish(lease.revision, figures);
  } catch (error) {
    const moved = await settleSource(job, env, args.migration, args.lease, args.peer, wasRunning);
    if (!moved) throw error;
    return figures;
  }
  await finishSource(job, driver, handle, args.migration);
  return figures;
}

/** The guest runs on the destination: this instance ends (STOPPED/migrated). */
async function finishSource(
  job: JobContext,
  driver: Driver,
  handle: DomainHandle,
  migration: string,
): Promise<void> {
  await job.append([{ type: "domain.migration_ended", body: { migration, outcome: "completed" } }]);
  if (isActive(job.snapshot)) {
    await endInstance(job, driver, handle, { detail: "migrated", reason: "migrated" });
  }
}

/**
 * Settles a source whose destination did not confirm, by the lease: the destination's, the
 * guest runs there (this instance ends); else the lease is fenced and the guest runs on here.
 *
 * @returns Whether the guest moved.
 * @throws {VirtError} 9 when the lease can be neither read nor fenced (the guest stays paused).
 */
async function settleSource(
  job: JobContext,
  env: CommandEnvironment,
  migration: string,
  lease: MigrationLease,
  peer: MigrationPeer | undefined,
  resume: boolean,
): Promise<boolean> {
  const owner = (await lease.read())?.owner;
  if (owner !== undefined && owner !== lease.host) {
    const { handle, driver } = sourceParts(job, env);
    await finishSource(job, driver, handle, migration);
    return true;
  }
  if (!(await lease.fence())) {
    const now = (await lease.read())?.owner;
    if (now !== undefined && now !== lease.host) {
      const { handle, driver } = sourceParts(job, env);
      await finishSource(job, driver, handle, migration);
      return true;
    }
    throw new VirtError(
      ErrorCode.OPERATION_FAILED,
      "migration: the domain's lease can be neither read nor fenced; the guest stays paused",
    );
  }
  // No commit can succeed now: the guest is this host's.
  await peer?.abort().catch(() => {});
  if (isActive(job.snapshot)) {
    const { handle, driver, migration: driverMigration } = sourceParts(job, env);
    await driverMigration.cancel(handle, job.signal).catch(() => {});
    const { running, stoppedByMigration } = await driverMigration.resync(handle, job.signal);
    const path = statePath(job.snapshot);
    if (!running && path === "active.running") {
      // Stopped by the switch-over before its SUSPENDED was recorded: it runs on, as recorded.
      await driver.resume(handle, job.signal);
    } else if (
      !running && path === "active.paused" &&
      (resume || job.snapshot.context.reason === PausedReason.MIGRATION ||
        // Stopped by the switch-over, then found paused by a restarted service's reconcile.
        (stoppedByMigration && job.snapshot.context.reason === PausedReason.UNKNOWN))
    ) {
      await driver.resume(handle, job.signal);
      await job.append([{
        type: "domain.resumed",
        body: { detail: "migrated", reason: "migration_canceled" },
      }]);
    }
  }
  await job.append([{ type: "domain.migration_ended", body: { migration, outcome: "failed" } }]);
  return false;
}

/**
 * The destination's first step: records the migration (naming the source and the port) before
 * the receiving instance is launched, then launches it listening on `port`.
 */
export async function migrateIn(
  job: JobContext,
  env: CommandEnvironment,
  args: {
    migration: string;
    from: string;
    port: number;
    definition: DomainDefinition | null;
    live: DomainDefinition;
  },
): Promise<void> {
  if (isActive(job.snapshot)) {
    throw new VirtError(
      ErrorCode.OPERATION_INVALID,
      `domain '${args.live.name}' is already active on the destination`,
    );
  }
  if (args.definition !== null) {
    await job.append([{
      type: "domain.defined",
      body: {
        definition: args.definition,
        detail: job.snapshot.context.persistent ? "updated" : "added",
      },
    }]);
  }
  await job.append([{
    type: "domain.migrating",
    body: { migration: args.migration, direction: "in", host: args.from, port: args.port },
  }]);
  try {
    await start(job, env, {
      paused: true,
      definition: args.live,
      migrateFrom: { address: MIGRATION_ADDRESS, port: args.port },
    });
  } catch (error) {
    await job.append([{
      type: "domain.migration_ended",
      body: { migration: args.migration, outcome: "failed" },
    }]);
    throw error;
  }
}

function requireIncoming(job: JobContext, migration: string): void {
  const pending = pendingMigration(job.snapshot);
  if (pending?.direction !== "in" || pending.migration !== migration) {
    throw new VirtError(
      ErrorCode.OPERATION_INVALID,
      `no incoming migration '${migration}' on this host (it ended, or the service restarted)`,
    );
  }
}

/**
 * The destination's last step: once the stream is complete, `commit` takes the lease; then the
 * guest runs here (RESUMED/migrated). A stream that does not complete, or a refused commit,
 * ends the instance (STOPPED/failed).
 */
export async function finishIn(
  job: JobContext,
  env: CommandEnvironment,
  args: { migration: string; commit: () => Promise<void> },
): Promise<void> {
  requireIncoming(job, args.migration);
  const handle = handleOf(job.snapshot);
  const driver = env.driverFor(handle.definition);
  try {
    await migrationOf(driver).received(handle, RECEIVE_TIMEOUT_MS, job.signal);
    await args.commit();
  } catch (error) {
    await abortIn(job, env, args.migration, "failed");
    throw error;
  }
  await runReceived(job, driver, handle, args.migration);
}

/** Committed: the guest runs here. */
async function runReceived(
  job: JobContext,
  driver: Driver,
  handle: DomainHandle,
  migration: string,
): Promise<void> {
  if (statePath(job.snapshot) === "active.paused") {
    await driver.resume(handle, job.signal);
    await job.append([{
      type: "domain.resumed",
      body: { detail: "migrated", reason: "migrated" },
    }]);
  }
  await job.append([{ type: "domain.migration_ended", body: { migration, outcome: "completed" } }]);
}

/** Ends the destination's receiving instance (STOPPED/failed); nothing left when none. */
export async function abortIn(
  job: JobContext,
  env: CommandEnvironment,
  migration: string,
  outcome: "cancelled" | "failed",
): Promise<void> {
  const pending = pendingMigration(job.snapshot);
  if (pending?.direction !== "in" || pending.migration !== migration) return;
  await job.append([{ type: "domain.migration_ended", body: { migration, outcome } }]);
  if (isActive(job.snapshot)) {
    const handle = handleOf(job.snapshot);
    await endInstance(job, env.driverFor(handle.definition), handle, {
      detail: "failed",
      reason: "failed",
    });
  }
}

/**
 * After a service restart, settles the migration the domain took part in, by its lease (see
 * the module): `owner` is the host the lease names now.
 *
 * @returns What was done, for the log; undefined when the domain had no migration pending.
 */
export async function settleMigration(
  job: JobContext,
  env: CommandEnvironment,
  lease: MigrationLease,
  peer: MigrationPeer | undefined,
): Promise<string | undefined> {
  const pending = pendingMigration(job.snapshot);
  if (pending === null) return undefined;
  if (pending.direction === "out") {
    if (!isActive(job.snapshot)) {
      const moved = (await lease.read())?.owner === pending.host;
      await job.append([{
        type: "domain.migration_ended",
        body: { migration: pending.migration, outcome: moved ? "completed" : "failed" },
      }]);
      return `its migration to '${pending.host}' ended with its instance`;
    }
    const moved = await settleSource(job, env, pending.migration, lease, peer, false);
    return moved
      ? `its migration to '${pending.host}' had been committed there: its instance here is ended`
      : `its migration to '${pending.host}' was not committed: the guest runs on here`;
  }
  const owner = (await lease.read())?.owner;
  if (owner === lease.host && isActive(job.snapshot)) {
    const handle = handleOf(job.snapshot);
    await runReceived(job, env.driverFor(handle.definition), handle, pending.migration);
    return `its migration from '${pending.host}' had been committed: the guest runs here`;
  }
  await abortIn(job, env, pending.migration, "failed");
  return `its migration from '${pending.host}' was not committed: its instance here is ended`;
}
