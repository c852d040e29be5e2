/**
 * Autostart once recovery is done: every persistent domain marked autostart that is shut off is
 * started, one after the other, as libvirt's daemon does at its start. A failure is logged and
 * the next domain is tried.
 *
 * @module
 */

import type { DomainActor } from "./domain_actor.ts";
import { statePath } from "./domain_machine.ts";

/**
 * Starts the autostart domains among `actors` that are shut off.
 *
 * @param start Starts a domain by uuid (the host's command, queued like any other).
 * @returns The names of the domains started.
 *
 * @example
 * ```ts ignore
 * await autostartAll(registry.actors(), (uuid) => host.start(uuid), log);
 * ```
 */
export async function autostartAll(
  actors: readonly DomainActor[],
  start: (uuid: string) => Promise<void>,
  log: (message: string) => void,
): Promise<string[]> {
  const started: string[] = [];
  for (const actor of actors) {
    const { context } = actor.snapshot;
    if (!context.autostart || statePath(actor.snapshot) !== "shutoff") continue;
    try {
      await start(actor.uuid);
      started.push(context.name);
      log(`domain ${context.name}: autostarted`);
    } catch (error) {
      log(`domain ${context.name}: autostart failed: ${(error as Error).message}`);
    }
  }
  return started;
}
