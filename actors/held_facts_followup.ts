/**
 * What a job left undone when the log refused its facts. The job stopped at the refused write, so
 * the steps after it never ran: a start whose launch was refused would leave a QEMU with stopped
 * CPUs that its caller was told had failed ({@linkcode endHeldStart} ends it at once), and a
 * guest's shutdown or crash whose fact was refused never had its `on_poweroff` / `on_crash` policy
 * applied ({@linkcode finishInterruptedJob}, once the facts are written).
 *
 * Both run as jobs of the domain's actor, with the instance still known to its driver, so they act
 * on that instance directly rather than probing it as recovery after a restart does.
 *
 * @module
 */

import type { DomainFact } from "../src/model/facts.ts";
import type { JobContext } from "./domain_actor.ts";
import { FactsHeldError } from "./held_facts.ts";
import { applyEndPolicy, type CommandEnvironment, handleOf } from "./domain_commands.ts";
import { isActive, statePath } from "./domain_machine.ts";

/**
 * After a start failed because the log refused its launch: ends the instance at once, so nothing
 * the log does not know keeps running (not even across a restart before the log takes writes
 * again), and holds its end after the launch. Any other error passes through unchanged.
 *
 * @param job The domain's job context.
 * @param env The host's command environment.
 * @param error What the start threw.
 * @throws Always: `error`, or a {@linkcode FactsHeldError} saying the start was undone.
 *
 * @example
 * ```ts ignore
 * await commands.start(job, env, options).catch((error) => endHeldStart(job, env, error));
 * ```
 */
export async function endHeldStart(
  job: JobContext,
  env: CommandEnvironment,
  error: unknown,
): Promise<never> {
  if (!(error instanceof FactsHeldError) || statePath(job.snapshot) !== "active.starting") {
    throw error;
  }
  await endInstance(job, env);
  const ended = { type: "domain.stopped", body: { detail: "failed", reason: "failed" } } as const;
  const outcome = await job.append([ended]).then(() => undefined, (failure) => failure);
  if (outcome !== undefined && !(outcome instanceof FactsHeldError)) throw outcome;
  throw new FactsHeldError(error.writeError, [ended], {
    happened: "the domain was not started (its instance was launched, then ended)",
    pendingCount: outcome === undefined ? 0 : 2,
  });
}

/**
 * Finishes the job that `written` (just made durable) cut short.
 *
 * @param job The domain's job context.
 * @param env The host's command environment.
 * @param written The held facts just written, oldest first.
 * @returns What was done, for the operational log; undefined when nothing was left undone.
 *
 * @example
 * ```ts ignore
 * await actor.run("finish", { kind: "observation" }, (job) => finishInterruptedJob(job, env, facts));
 * ```
 */
export async function finishInterruptedJob(
  job: JobContext,
  env: CommandEnvironment,
  written: readonly DomainFact[],
): Promise<string | undefined> {
  if (!isActive(job.snapshot)) {
    // An end observed by the driver is released after its fact is written, which the refusal
    // skipped; releasing an instance twice is harmless, and none is active to release wrongly.
    const { live, definition, uuid } = job.snapshot.context;
    const last = live ?? definition;
    if (last !== null && written.some((fact) => fact.type === "domain.stopped")) {
      env.driverFor(last).unwatch(uuid);
    }
    return undefined;
  }
  const path = statePath(job.snapshot);
  const live = job.snapshot.context.live;
  if (path === "active.starting" && written.some((fact) => fact.type === "domain.launched")) {
    // Its caller was told the start failed: end the instance, as recovery ends a start that a
    // crash interrupted.
    await endInstance(job, env);
    await job.append([{ type: "domain.stopped", body: { detail: "failed", reason: "failed" } }]);
    return "ended the start its caller was told had failed";
  }
  if (path === "active.shuttingDown" && written.some((fact) => fact.type === "domain.shutdown")) {
    // A guest reset that ends the domain is told apart only by the driver's observation, which
    // is gone: on_poweroff is the policy of a guest shutdown.
    await applyEndPolicy(job, env, live?.onPoweroff ?? "destroy", "shutdown", "shutdown");
    return "applied on_poweroff after the guest's shutdown";
  }
  if (path === "active.crashed" && written.some((fact) => fact.type === "domain.crashed")) {
    await applyEndPolicy(job, env, live?.onCrash ?? "destroy", "crashed", "crashed");
    return "applied on_crash after the guest's crash";
  }
  return undefined;
}

/** Ends the domain's instance at once (no guest shutdown) and stops watching it, even on error. */
async function endInstance(job: JobContext, env: CommandEnvironment): Promise<void> {
  const handle = handleOf(job.snapshot);
  const driver = env.driverFor(handle.definition);
  try {
    await driver.terminate(handle, { graceful: false }, job.signal);
  } finally {
    driver.unwatch(handle.uuid);
  }
}
