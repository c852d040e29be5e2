/**
 * The facts committed last, kept in memory so subscribers tailing the log read new facts without
 * a storage query each: with many subscribers, every commit would otherwise cost one query per
 * subscriber.
 *
 * @module
 */

import type { StoredFact } from "./fact_storage.ts";

/** Most facts kept. */
export const RECENT_FACTS_MAX = 4096;

/** Most body text kept, in UTF-16 code units of JSON (about bytes for ASCII). */
export const RECENT_BYTES_MAX = 16 * 1024 * 1024;

/**
 * A bounded window over the newest committed facts, in position order without gaps.
 *
 * @example
 * ```ts
 * import { RecentFacts } from "./recent_facts.ts";
 * const recent = new RecentFacts();
 * recent.add([{ position: 1, stream: "s", version: 1, type: "T", schemaVersion: 1, timestampMs: 0, bodyJson: "1" }]);
 * console.log(recent.read(0, 10, 1000)?.length); // 1
 * ```
 */
export class RecentFacts {
  #facts: StoredFact[] = [];
  #start = 0;
  #bytes = 0;

  /** Appends freshly committed facts, which must follow the newest kept one without a gap. */
  add(facts: readonly StoredFact[]): void {
    const newest = this.#facts.at(-1);
    if (newest !== undefined && facts[0].position !== newest.position + 1) {
      throw new Error(`Recent facts jump from ${newest.position} to ${facts[0].position}`);
    }
    for (const fact of facts) {
      this.#facts.push(fact);
      this.#bytes += fact.bodyJson.length;
    }
    this.#trim();
  }

  /**
   * The kept facts after `afterPosition` (at most `limit`, bounded by `maxBytes` as
   * {@linkcode FactStorage.readAll}), or undefined when the window does not reach back that far.
   */
  read(afterPosition: number, limit: number, maxBytes: number): StoredFact[] | undefined {
    const oldest = this.#facts[this.#start];
    if (oldest === undefined || afterPosition + 1 < oldest.position) return undefined;
    const taken: StoredFact[] = [];
    let bytes = 0;
    let index = this.#start + (afterPosition + 1 - oldest.position);
    for (; index < this.#facts.length && taken.length < limit && bytes < maxBytes; index++) {
      taken.push(this.#facts[index]);
      bytes += this.#facts[index].bodyJson.length;
    }
    return taken;
  }

  /** Drops facts from the front until both bounds hold; compacts the array now and then. */
  #trim(): void {
    while (
      this.#facts.length - this.#start > RECENT_FACTS_MAX ||
      (this.#bytes > RECENT_BYTES_MAX && this.#facts.length - this.#start > 1)
    ) {
      this.#bytes -= this.#facts[this.#start].bodyJson.length;
      this.#start++;
    }
    // Copy only once the dropped prefix is as long as the window, so trimming stays amortised O(1).
    if (this.#start >= RECENT_FACTS_MAX || this.#start > this.#facts.length - this.#start) {
      this.#facts = this.#facts.slice(this.#start);
      this.#start = 0;
    }
  }
}
