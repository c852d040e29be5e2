/**
 * Recording intents from a domain's jobs: what the hypervisor is about to do is durable before
 * it is done (design principle 4), and an intent that came to nothing is closed with
 * `domain.intent_abandoned`. Recovery (`host_recovery_intents.ts`) settles what a crash left
 * pending.
 *
 * @module
 */

import type { DomainFactBodies, IntentKind } from "../src/model/facts.ts";
import type { JobContext } from "./domain_actor.ts";
import type { DomainHandle, Driver } from "./driver_protocol.ts";

/**
 * Records that the instance is about to be ended, and the shut-off reason it will have.
 *
 * @example
 * ```ts ignore
 * await recordEnding(job, { detail: "destroyed", reason: "destroyed" }, false);
 * ```
 */
export async function recordEnding(
  job: JobContext,
  stopped: DomainFactBodies["domain.stopped"],
  graceful: boolean,
): Promise<void> {
  await job.append([{ type: "domain.ending", body: { ...stopped, graceful } }]);
}

/**
 * Records that the pending intent came to nothing. When even that cannot be written, the intent
 * stays pending (in memory as in the log) and recovery settles it; the caller's own error is what
 * matters, so this one is not thrown.
 *
 * @example
 * ```ts ignore
 * try { await driver.launch(request, job.signal); } catch (error) { await abandonIntent(job, "launch"); throw error; }
 * ```
 */
export async function abandonIntent(job: JobContext, intent: IntentKind): Promise<void> {
  try {
    await job.append([{ type: "domain.intent_abandoned", body: { intent } }]);
  } catch {
    // See above: recovery finds the pending intent.
  }
}

/**
 * Ends the instance now (SIGKILL after the grace period) and records it shut off as `stopped`
 * says; the intent is recorded first, so an end cut short by a crash is finished with the same
 * reason.
 *
 * @throws What the driver's `terminate` throws (the intent is then abandoned).
 *
 * @example
 * ```ts ignore
 * await endInstance(job, driver, handle, { detail: "failed", reason: "failed" });
 * ```
 */
export async function endInstance(
  job: JobContext,
  driver: Driver,
  handle: DomainHandle,
  stopped: DomainFactBodies["domain.stopped"],
): Promise<void> {
  await recordEnding(job, stopped, false);
  try {
    await driver.terminate(handle, { graceful: false }, job.signal);
  } catch (error) {
    await abandonIntent(job, "end");
    throw error;
  } finally {
    driver.unwatch(handle.uuid);
  }
  await job.append([{ type: "domain.stopped", body: stopped }]);
}
