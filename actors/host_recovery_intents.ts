/**
 * Recovery of intents: what the hypervisor was about to do when the service died, settled once
 * the log is folded and before anyone may send a command.
 *
 * - A **launch** intent without its `domain.launched`: the driver looks for the instance the start
 *   may have left (spawned in the last instant, perhaps before its pid was known). Found, it is
 *   adopted (`domain.launched` with its real runtime record), and the usual reconcile of an
 *   unfinished start follows; not found, the intent is abandoned and its leftovers removed. A
 *   retry never starts a second instance: the driver's claim refuses it while one lives.
 * - An **end** intent (destroy, deadline, policy) whose `domain.stopped` is missing: the end is
 *   finished and recorded with the reason it was started for — `destroyed` after an interrupted
 *   destroy, not `crashed`.
 * - A **reboot** or **reset** intent without its REBOOT: finished (see
 *   {@linkcode finishInterruptedReboot}).
 *
 * Suspend, resume and shutdown need no intent: QEMU's own run state (`paused`, `running`,
 * `shutdown`) tells reconcile the truth and its reason (`paused (user)` after an interrupted
 * suspend).
 *
 * Replay stays pure: these facts are only written here, after the fold, through the domain's
 * actor like any other job.
 *
 * @module
 */

import type { DomainActor, JobContext } from "./domain_actor.ts";
import { isActive, pendingIntent } from "./domain_machine.ts";
import type { DomainHandle, Driver, Reality } from "./driver_protocol.ts";
import type { DomainDefinition } from "../src/model/domain.ts";

/** Domains whose launch intents are settled at once. */
const LAUNCH_RECOVERY_CONCURRENCY_MAX = 16;

/** Bound on finding the instance of one interrupted launch, in ms. */
const LAUNCH_RECOVERY_TIMEOUT_MS = 20_000;

/**
 * Settles every pending launch intent of `actors`, a bounded number at a time. Failures are
 * logged and leave the intent pending (a later restart tries again; the claim keeps a second
 * instance from starting meanwhile).
 *
 * @param actors Every domain actor after the fold.
 * @param driverOf The driver for a definition's type, or undefined when this host runs none.
 * @param log Where operational messages go.
 *
 * @example
 * ```ts ignore
 * await recoverLaunches([...actors.values()], (d) => drivers.get(d.type), console.error);
 * ```
 */
export async function recoverLaunches(
  actors: readonly DomainActor[],
  driverOf: (definition: DomainDefinition) => Driver | undefined,
  log: (message: string) => void,
): Promise<void> {
  const pending = actors.filter((actor) =>
    !isActive(actor.snapshot) && pendingIntent(actor.snapshot)?.kind === "launch"
  );
  for (let index = 0; index < pending.length; index += LAUNCH_RECOVERY_CONCURRENCY_MAX) {
    const batch = pending.slice(index, index + LAUNCH_RECOVERY_CONCURRENCY_MAX);
    await Promise.all(batch.map(async (actor) => {
      try {
        await actor.run(
          "recover launch",
          { kind: "observation" },
          (job) => recoverLaunch(job, driverOf, log),
        );
      } catch (error) {
        log(
          `domain ${actor.snapshot.context.name}: interrupted start not settled: ${
            (error as Error).message
          }`,
        );
      }
    }));
  }
}

/** Adopts or abandons one domain's pending launch. */
async function recoverLaunch(
  job: JobContext,
  driverOf: (definition: DomainDefinition) => Driver | undefined,
  log: (message: string) => void,
): Promise<void> {
  const intent = pendingIntent(job.snapshot);
  if (intent?.kind !== "launch" || isActive(job.snapshot)) return;
  const { context } = job.snapshot;
  const definition = intent.definition ?? context.definition;
  if (definition === null) {
    await job.append([{ type: "domain.intent_abandoned", body: { intent: "launch" } }]);
    return;
  }
  const driver = driverOf(definition);
  if (driver === undefined) {
    log(`domain ${definition.name}: no '${definition.type}' driver here; interrupted start left`);
    return;
  }
  const request = { uuid: context.uuid, name: definition.name, id: intent.id, definition };
  const runtime = await driver.adopt(
    request,
    intent.runtime,
    AbortSignal.any([job.signal, AbortSignal.timeout(LAUNCH_RECOVERY_TIMEOUT_MS)]),
  );
  if (runtime === undefined) {
    log(`domain ${definition.name}: its start was interrupted before the instance ran`);
    await job.append([{ type: "domain.intent_abandoned", body: { intent: "launch" } }]);
    return;
  }
  log(`domain ${definition.name}: adopted the instance of its interrupted start`);
  await job.append([{
    type: "domain.launched",
    body: {
      id: intent.id,
      definition: intent.definition,
      persistent: intent.persistent,
      runtime,
    },
  }]);
}

/**
 * Finishes an end the service was carrying out when it died, and records the reason it was
 * started for. Does nothing without a pending end intent.
 *
 * @param job The domain's reconcile job.
 * @param driver Its driver (which has just probed the instance).
 * @param handle The instance.
 * @param reality What the probe found.
 * @param log Where operational messages go.
 * @returns True when the domain is now recorded shut off; false when the caller's usual
 *   reconcile should follow (no end intent, or the end could not be finished and was abandoned).
 *
 * @example
 * ```ts ignore
 * if (!(await finishInterruptedEnd(job, driver, handle, reality, log))) await correct(…);
 * ```
 */
export async function finishInterruptedEnd(
  job: JobContext,
  driver: Driver,
  handle: DomainHandle,
  reality: Reality,
  log: (message: string) => void,
): Promise<boolean> {
  const intent = pendingIntent(job.snapshot);
  if (intent?.kind !== "end" || !isActive(job.snapshot)) return false;
  if (reality.kind !== "gone") {
    try {
      await driver.terminate(handle, { graceful: intent.graceful }, job.signal);
    } catch (error) {
      log(`domain ${handle.name}: cannot finish its interrupted end: ${(error as Error).message}`);
      await job.append([{ type: "domain.intent_abandoned", body: { intent: "end" } }]);
      return false;
    }
  }
  log(`domain ${handle.name}: finished its interrupted end (${intent.reason})`);
  driver.unwatch(handle.uuid);
  await job.append([{
    type: "domain.stopped",
    body: { detail: intent.detail, reason: intent.reason },
  }]);
  return true;
}

/**
 * Finishes a reboot or reset the service was carrying out when it died.
 *
 * - Reboot, and the guest has shut down (QEMU waits in `shutdown`): the fake reboot's second
 *   half is done (reset, run) and the REBOOT recorded, instead of applying `on_poweroff`.
 * - Reboot, and the guest still runs: the request is sent again (whether the first reached the
 *   guest cannot be known); the REBOOT is recorded when it happens. As libvirt's fake-reboot
 *   flag, the intent lasts until the guest's next shutdown.
 * - Reset: the guest is reset again and the REBOOT recorded (a lost reset cannot be told from a
 *   done one; one more reset is harmless, a missing one is not).
 *
 * @returns True when the domain's state is settled (the caller's usual reconcile must not run);
 *   false when it should follow.
 *
 * @example
 * ```ts ignore
 * if (!(await finishInterruptedReboot(job, driver, handle, reality, log))) await correct(…);
 * ```
 */
export async function finishInterruptedReboot(
  job: JobContext,
  driver: Driver,
  handle: DomainHandle,
  reality: Reality,
  log: (message: string) => void,
): Promise<boolean> {
  const intent = pendingIntent(job.snapshot);
  if (intent?.kind !== "reboot" && intent?.kind !== "reset") return false;
  if (reality.kind === "gone" || reality.kind === "crashed") return false;
  try {
    if (intent.kind === "reboot" && reality.kind === "shutdown") {
      log(`domain ${handle.name}: finishing its interrupted reboot`);
      await driver.reset(handle, job.signal);
      await driver.resume(handle, job.signal);
      await job.append([{ type: "domain.rebooted", body: {} }]);
      return true;
    }
    if (intent.kind === "reboot") {
      log(`domain ${handle.name}: asking again for its interrupted reboot`);
      await driver.reboot(handle, job.signal);
      return false;
    }
    log(`domain ${handle.name}: repeating its interrupted reset`);
    await driver.reset(handle, job.signal);
    await job.append([{ type: "domain.rebooted", body: {} }]);
    return false;
  } catch (error) {
    log(
      `domain ${handle.name}: cannot finish its interrupted ${intent.kind}: ${
        (error as Error).message
      }`,
    );
    await job.append([{ type: "domain.intent_abandoned", body: { intent: intent.kind } }]);
    return false;
  }
}
