/**
 * Waiting for a domain to reach a condition (e.g. `shutdown --wait`): the condition is checked
 * now and after every batch of the domain's facts, until it holds, the domain vanishes, or the
 * wait times out.
 *
 * @module
 */

import type { DomainSummary } from "../src/model/domain_list.ts";
import { ErrorCode, VirtError } from "../src/model/errors.ts";
import type { AppliedFact } from "./domain_actor.ts";

/** Where a wait reads the domain and learns of its facts. */
export interface WaitSource {
  /** The domain's summary now, or undefined when it does not exist. */
  summaryOf(uuid: string): DomainSummary | undefined;
  /** Calls `listener` after every batch of applied facts until the returned stop is called. */
  onApplied(listener: (uuid: string, applied: AppliedFact[]) => void): () => void;
}

/**
 * Resolves once `predicate` holds for the domain's summary, or with undefined once the domain
 * no longer exists.
 *
 * @throws {VirtError} Code 68 (rejects) after `timeoutMs`.
 *
 * @example
 * ```ts ignore
 * await waitForDomain(host, uuid, (summary) => !summary.active, 30_000);
 * ```
 */
export function waitForDomain(
  source: WaitSource,
  uuid: string,
  predicate: (summary: DomainSummary) => boolean,
  timeoutMs: number,
): Promise<DomainSummary | undefined> {
  const check = (): { done: boolean; summary?: DomainSummary } => {
    const summary = source.summaryOf(uuid);
    if (summary === undefined) return { done: true };
    return { done: predicate(summary), summary };
  };
  const first = check();
  if (first.done) return Promise.resolve(first.summary);
  return new Promise((resolve, reject) => {
    const stop = source.onApplied((changed) => {
      if (changed !== uuid) return;
      const now = check();
      if (!now.done) return;
      clearTimeout(timer);
      stop();
      resolve(now.summary);
    });
    const timer = setTimeout(() => {
      stop();
      reject(
        new VirtError(
          ErrorCode.OPERATION_TIMEOUT,
          `timed out after ${timeoutMs} ms waiting for the domain`,
        ),
      );
    }, timeoutMs);
  });
}
