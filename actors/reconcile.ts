/**
 * Reconciliation after recovery: every domain the log calls active is probed through its
 * driver, and where reality differs from the record, corrective facts are appended. A running
 * instance is never stopped because the service restarted; only a start the service never
 * finished is rolled back (its caller was never told it succeeded).
 *
 * @module
 */

import { finishPendingRemovals } from "./device_commands.ts";
import { endInstance } from "./domain_intents.ts";
import {
  finishInterruptedEnd,
  finishInterruptedReboot,
  recoverLaunches,
} from "./host_recovery_intents.ts";
import { finishInterruptedLiveChange } from "./resource_commands.ts";
import { settleInterruptedSave } from "./save_commands.ts";
import { recoverSnapshotIntents, settleInterruptedSnapshot } from "./snapshot_recovery.ts";
import { reconcileBlockJobs } from "./block_job_commands.ts";
import type { DomainActor, JobContext } from "./domain_actor.ts";
import * as commands from "./domain_commands.ts";
import { isActive, pausedReasonNumber, stateOf, statePath } from "./domain_machine.ts";
import type { DomainHandle, Driver, Reality } from "./driver_protocol.ts";

/** Domains reconciled at once. */
export const RECONCILE_CONCURRENCY_MAX = 16;

/** How long a reconcile probe may take per domain. */
export const RECONCILE_TIMEOUT_MS = 10_000;

/** What reconciliation needs from the host. */
export interface ReconcileEnvironment {
  /** The driver of a domain type, or undefined when this host runs none for it. */
  driverOfType(type: string): Driver | undefined;
  /** What commands need (observations are recorded as commands record them). */
  commands: commands.CommandEnvironment;
  /** Where results go. */
  log(message: string): void;
}

/**
 * Reconciles every active domain among `actors`, {@linkcode RECONCILE_CONCURRENCY_MAX} at a
 * time; a domain whose probe fails is logged and left as recorded.
 *
 * @example
 * ```ts ignore
 * await reconcileAll(registry.actors(), { driverOfType, commands: env, log });
 * ```
 */
export async function reconcileAll(
  actors: readonly DomainActor[],
  env: ReconcileEnvironment,
): Promise<void> {
  // Launches recorded but not finished: adopt the instance or record the intent abandoned.
  await recoverLaunches([...actors], (definition) => env.driverOfType(definition.type), env.log);
  const active = actors.filter((actor) => isActive(actor.snapshot));
  for (let index = 0; index < active.length; index += RECONCILE_CONCURRENCY_MAX) {
    const batch = active.slice(index, index + RECONCILE_CONCURRENCY_MAX);
    await Promise.all(batch.map((actor) => reconcile(actor, env)));
  }
  // Snapshots begun but not recorded (or deletions not finished): undone or finished.
  await recoverSnapshotIntents(
    [...actors],
    (definition) => env.driverOfType(definition.type),
    env.log,
    env.commands,
  );
}

/** Probes one active domain and records what differs; then watches it if still active. */
export async function reconcile(actor: DomainActor, env: ReconcileEnvironment): Promise<void> {
  const { context } = actor.snapshot;
  const definition = context.live;
  if (definition === null) return;
  const driver = env.driverOfType(definition.type);
  if (driver === undefined) {
    env.log(
      `domain ${context.name}: no '${definition.type}' driver here; left as recorded, unwatched`,
    );
    return;
  }
  try {
    await actor.run("reconcile", { kind: "recovery" }, async (job) => {
      const handle = commands.handleOf(job.snapshot);
      const reality = await driver.probe(handle, AbortSignal.timeout(RECONCILE_TIMEOUT_MS));
      // A live change (balloon, vCPUs, disk size) the crash interrupted is asked again.
      await finishInterruptedLiveChange(job, driver, handle, reality, env.log);
      // An end or reboot the crash interrupted is finished with its own reason first.
      const settled = await finishInterruptedEnd(job, driver, handle, reality, env.log) ||
        await settleInterruptedSave(job, driver, handle, reality, env.log) ||
        await settleInterruptedSnapshot(job, driver, handle, env.log) ||
        await finishInterruptedReboot(job, driver, handle, reality, env.log);
      if (!settled) await correct(job, env, driver, handle, reality);
      await finishPendingRemovals(job, driver, RECONCILE_TIMEOUT_MS, env.log);
      // Block jobs run on in the hypervisor: found again, or their missed end recorded.
      if (isActive(job.snapshot)) {
        await reconcileBlockJobs(job, driver, commands.handleOf(job.snapshot), reality, env.log);
      }
      if (isActive(job.snapshot)) {
        driver.watch(commands.handleOf(job.snapshot), env.commands.sink);
      }
    });
  } catch (error) {
    env.log(`domain ${context.name}: reconcile failed: ${(error as Error).message}`);
  }
}

/**
 * Brings a watched domain's record back in line with its driver after observations were
 * refused: once the observations queued before it have run, asks the driver where the instance
 * is (its optional `status`) and appends what the record misses.
 */
export async function resync(actor: DomainActor, env: ReconcileEnvironment): Promise<void> {
  const name = actor.snapshot.context.name;
  env.log(`domain ${name}: observations were refused; re-reading it from its driver`);
  try {
    await actor.run("resync", { kind: "recovery" }, async (job) => {
      if (!isActive(job.snapshot)) return;
      const handle = commands.handleOf(job.snapshot);
      const driver = env.commands.driverFor(handle.definition);
      if (driver.status === undefined) return;
      const reality = await driver.status(handle, AbortSignal.timeout(RECONCILE_TIMEOUT_MS));
      await correct(job, env, driver, handle, reality);
    });
  } catch (error) {
    env.log(`domain ${name}: resync failed: ${(error as Error).message}`);
  }
}

/** Appends the facts that bring the record in line with what the driver found. */
async function correct(
  job: JobContext,
  env: ReconcileEnvironment,
  driver: Driver,
  handle: DomainHandle,
  reality: Reality,
): Promise<void> {
  const path = statePath(job.snapshot);
  const name = job.snapshot.context.name;
  switch (reality.kind) {
    case "as_recorded":
      if (path === "active.starting") await abandonStart(job, env, driver, handle);
      return;
    case "gone":
      env.log(`domain ${name}: its process is gone; recording it as stopped`);
      await commands.observe(job, env.commands, { kind: "stopped", reason: "crashed" });
      return;
    case "running":
      if (path === "active.starting") {
        await job.append([{
          type: "domain.started",
          body: { detail: "booted", reason: "booted" },
        }]);
      } else if (path !== "active.running") {
        await commands.observe(job, env.commands, { kind: "resumed" });
      }
      return;
    case "paused":
      if (path === "active.starting") {
        await abandonStart(job, env, driver, handle);
      } else if (
        path !== "active.paused" ||
        stateOf(job.snapshot).reason !== pausedReasonNumber(reality.reason)
      ) {
        await commands.observe(job, env.commands, { kind: "paused", reason: reality.reason });
      }
      return;
    case "shutdown":
      await commands.observe(job, env.commands, { kind: "shutdown", detail: "finished" });
      return;
    case "crashed":
      await commands.observe(job, env.commands, { kind: "crashed", detail: "panicked" });
      return;
  }
}

/**
 * Ends an instance whose start the service never finished: its caller was never told it
 * succeeded, so the start is rolled back (STOPPED/failed).
 */
async function abandonStart(
  job: JobContext,
  env: ReconcileEnvironment,
  driver: Driver,
  handle: DomainHandle,
): Promise<void> {
  env.log(`domain ${handle.name}: its start was interrupted; ending the instance`);
  await endInstance(job, driver, handle, { detail: "failed", reason: "failed" });
}
