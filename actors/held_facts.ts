/**
 * Facts about what the hypervisor already did that the log could not take yet (a full disk, a
 * read-only file system): one domain's bounded queue of them, which facts qualify, and the error
 * its caller gets.
 *
 * A fact that records a decision (a definition, autostart, metadata, a deadline) changes nothing
 * outside the log, so when it cannot be written the command simply fails and nothing changed. A
 * fact that records something that happened (an instance launched, stopped, paused) cannot be
 * taken back: the domain's state must show it, and the fact waits here, in order, until the log
 * accepts it.
 *
 * @module
 */

import type { EventStoreWriteError } from "../src/log/errors.ts";
import { ErrorCode, VirtError } from "../src/model/errors.ts";
import { DOMAIN_FACT_KINDS, type DomainFact } from "../src/model/facts.ts";

/** Most facts one domain holds while the log refuses writes; later ones are dropped (see below). */
export const HELD_FACTS_MAX = 64;

/**
 * Whether the facts record what already happened outside the log (so must never be lost), rather
 * than a decision that may simply fail.
 *
 * @example
 * ```ts
 * import { recordsHappening } from "./held_facts.ts";
 * console.log(recordsHappening([{ type: "domain.stopped", body: { detail: "destroyed", reason: "destroyed" } }])); // true
 * ```
 */
export function recordsHappening(facts: readonly DomainFact[]): boolean {
  return facts.some((fact) => DOMAIN_FACT_KINDS[fact.type] === "happening");
}

export type { HeldFactsSummary } from "../src/model/domain_list.ts";
import type { HeldFactsSummary } from "../src/model/domain_list.ts";

/**
 * One domain's queue of held facts, bounded by {@linkcode HELD_FACTS_MAX}.
 *
 * @example
 * ```ts ignore
 * const held = new HeldFacts();
 * held.hold(facts, error, Date.now());
 * console.log(held.summary()?.facts);
 * ```
 */
export class HeldFacts {
  #facts: DomainFact[] = [];
  #cause: EventStoreWriteError | undefined;
  #sinceMs = 0;
  #dropped = 0;

  /** The held facts, oldest first (a copy). */
  get facts(): DomainFact[] {
    return [...this.#facts];
  }

  /** How many facts are held. */
  get count(): number {
    return this.#facts.length;
  }

  /** Facts dropped at the bound since the queue was last emptied. */
  get dropped(): number {
    return this.#dropped;
  }

  /** The latest refusal, while facts are held. */
  get cause(): EventStoreWriteError | undefined {
    return this.#cause;
  }

  /**
   * Holds `facts` after those already held.
   *
   * @returns false when the bound left no room: then none of them is held, and they are counted
   *   as dropped.
   */
  hold(facts: readonly DomainFact[], cause: EventStoreWriteError, nowMs: number): boolean {
    if (this.#facts.length === 0 && this.#dropped === 0) this.#sinceMs = nowMs;
    this.#cause = cause;
    if (this.#facts.length + facts.length > HELD_FACTS_MAX) {
      this.#dropped += facts.length;
      return false;
    }
    this.#facts.push(...facts);
    return true;
  }

  /** Records the latest refusal of a retry. */
  refused(cause: EventStoreWriteError): void {
    this.#cause = cause;
  }

  /** Empties the queue once its facts are durable. */
  clear(): void {
    this.#facts = [];
    this.#cause = undefined;
    this.#dropped = 0;
  }

  /** What the API shows, or null when nothing is held. */
  summary(): HeldFactsSummary | null {
    if (this.#cause === undefined) return null;
    return {
      facts: this.#facts.length,
      cause: this.#cause.failure.description,
      sinceMs: this.#sinceMs,
      needsReconcile: true,
      dropped: this.#dropped,
    };
  }
}

/**
 * The hypervisor acted but the log refused the fact: the caller's error (code 38) names the cause,
 * what happened, and that the fact is written once the log accepts it.
 *
 * @example
 * ```ts ignore
 * throw new FactsHeldError(writeError, [{ type: "domain.stopped", body: { detail: "destroyed", reason: "destroyed" } }]);
 * // "cannot write the event log: no space left on device; the domain was destroyed and the fact is pending"
 * ```
 */
export class FactsHeldError extends VirtError {
  /** The log's refusal. */
  readonly writeError: EventStoreWriteError;

  /**
   * @param writeError The log's refusal.
   * @param facts The facts held (or dropped at the bound).
   * @param options.held Whether they were held (false: dropped at the bound). Default true.
   * @param options.happened What happened, in words. Default: said from `facts`.
   * @param options.pendingCount How many facts of the command are pending. Default: `facts.length`.
   */
  constructor(
    writeError: EventStoreWriteError,
    facts: readonly DomainFact[],
    options: { held?: boolean; happened?: string; pendingCount?: number } = {},
  ) {
    const what = facts.map(describe).filter((text) => text !== undefined);
    const happened = options.happened ??
      (what.length === 0 ? "the domain changed" : [...new Set(what)].join(", "));
    const count = options.pendingCount ?? facts.length;
    const fate = options.held === false
      ? `the fact was dropped (${HELD_FACTS_MAX} already wait) until the next reconcile`
      : count === 0
      ? "its facts are written now"
      : count === 1
      ? "the fact is pending"
      : `${count} facts are pending`;
    super(
      ErrorCode.SYSTEM_ERROR,
      `cannot write the event log: ${writeError.failure.description}; ${happened} and ${fate}`,
      { cause: writeError },
    );
    this.name = "FactsHeldError";
    this.writeError = writeError;
  }
}

function describe(fact: DomainFact): string | undefined {
  switch (fact.type) {
    case "domain.launched":
      return "the domain's instance was launched with its CPUs paused";
    case "domain.started":
      return "the domain was started";
    case "domain.suspended":
      return "the domain was suspended";
    case "domain.resumed":
      return "the domain was resumed";
    case "domain.stopped":
      return fact.body.reason === "destroyed"
        ? "the domain was destroyed"
        : `the domain stopped (${fact.body.reason})`;
    case "domain.shutdown":
      return "the guest shut down";
    case "domain.crashed":
      return "the guest crashed";
    case "domain.rebooted":
      return "the domain was reset";
    default:
      return fact.type.startsWith("domain.") ? `the domain reported ${fact.type}` : undefined;
  }
}
