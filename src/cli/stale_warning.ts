/**
 * The warning a statistics command prints on stderr when its figures are stale (the domain's
 * monitor stopped answering): stdout keeps virsh's layout, the caller still learns the figures
 * are old.
 *
 * @module
 */

import type { VerbContext } from "./verb.ts";

/** How fresh an answer's samples are, as every statistics view says. */
export interface SampleFreshness {
  sampleAgeMs: number | null;
  stale: boolean;
  staleReason?: string;
}

/**
 * Warns on stderr when `view`'s samples are stale.
 *
 * @param context The verb's context (its `warn`).
 * @param domain The domain, as the user named it.
 * @param view The answer.
 *
 * @example
 * ```ts ignore
 * warnIfStale(context, "web", await context.client.memoryStats("web"));
 * // warning: statistics of domain 'web' are stale (2500 ms old): QEMU did not answer …
 * ```
 */
export function warnIfStale(context: VerbContext, domain: string, view: SampleFreshness): void {
  if (!view.stale) return;
  const age = view.sampleAgeMs === null ? "no samples" : `${view.sampleAgeMs} ms old`;
  const reason = view.staleReason === undefined ? "" : `: ${view.staleReason}`;
  context.warn(`statistics of domain '${domain}' are stale (${age})${reason}`);
}
