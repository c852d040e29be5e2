/**
 * Following the log: catch up from the store in bounded pages, then tail it live.
 *
 * @module
 */

import type { Fact } from "./event_store.ts";
import type { HeadSignal } from "./head_signal.ts";

/**
 * How long a caught-up subscriber sleeps before it re-reads the store even without a
 * notification. Only a safety net: commits wake subscribers at once.
 */
export const SUBSCRIBE_RECHECK_MS = 1000;

/** What {@linkcode followLog} reads from. */
export interface LogFollowSource {
  /** Reads facts strictly after `afterPosition`, at most `limit`; throws when pruned or closed. */
  readAll(afterPosition: number, limit: number): Promise<Fact[]>;
  /** Announces the head after each commit. */
  headSignal: HeadSignal;
}

/**
 * Yields every fact after `afterPosition`: first those already stored, then new ones as they are
 * committed. The last delivered position is the only cursor, and every fact is read back from the
 * store, so nothing is lost or repeated between catch-up and live tail, and a slow consumer holds
 * at most one page in memory.
 *
 * @param source The store to read from.
 * @param afterPosition The position already seen.
 * @param pageSize Facts per read.
 * @param signal Ends the iteration normally when aborted.
 * @returns The facts, in position order; ends when `signal` aborts or the store closes.
 *
 * @example Following from the start
 * ```ts ignore
 * import { followLog } from "./subscription.ts";
 * for await (const fact of followLog(source, 0, 100, AbortSignal.timeout(1000))) console.log(fact);
 * ```
 */
export async function* followLog(
  source: LogFollowSource,
  afterPosition: number,
  pageSize: number,
  signal: AbortSignal | undefined,
): AsyncGenerator<Fact, void, undefined> {
  let cursor = afterPosition;
  // Intentionally unbounded: a subscription lasts until aborted or the store closes.
  while (true) {
    if (signal?.aborted || source.headSignal.closed) return;
    if (source.headSignal.head > cursor) {
      const page = await source.readAll(cursor, pageSize);
      if (page.length === 0) {
        throw new Error(
          `Store returned no fact after ${cursor} below head ${source.headSignal.head}`,
        );
      }
      for (const fact of page) {
        if (fact.position !== cursor + 1) {
          throw new Error(`Subscription skipped from ${cursor} to ${fact.position}`);
        }
        if (signal?.aborted) return;
        cursor = fact.position;
        yield fact;
      }
      continue;
    }
    const outcome = await source.headSignal.wait(cursor, signal, SUBSCRIBE_RECHECK_MS);
    if (outcome === "aborted" || outcome === "closed") return;
  }
}
