/**
 * The host's retry of held facts: while any domain holds facts the log refused, they are retried
 * with a backoff until the log takes them, and commands that would make the hypervisor act again
 * are refused before they act (so what the log does not know cannot grow).
 *
 * `destroy` is the one acting command still allowed: it can only reduce what runs unrecorded, and
 * its fact waits behind the domain's others.
 *
 * @module
 */

import type { EventStoreWriteError } from "../src/log/errors.ts";
import { ErrorCode, VirtError } from "../src/model/errors.ts";
import type { DomainFact } from "../src/model/facts.ts";
import { type Operation, OPERATIONS } from "../src/model/operations.ts";

/** The first retry's delay after a refusal, in ms; each failed retry doubles it. */
export const HELD_RETRY_FIRST_DELAY_MS = 100;

/** The longest delay between two retries, in ms. */
export const HELD_RETRY_MAX_DELAY_MS = 5000;

/**
 * Commands refused while facts are held, they would make the hypervisor act unrecorded: the
 * operations table's rows marked `refusedWhileFactsHeld`, by their domain command, or for a row
 * without one (`domain.create`) by the action its name ends with.
 */
export const REFUSED_WHILE_HELD: ReadonlySet<string> = new Set(
  (OPERATIONS as readonly Operation[])
    .filter((row) => row.refusedWhileFactsHeld === true)
    .map((row) => row.command ?? row.name.slice(row.name.indexOf(".") + 1)),
);

/** A domain that holds facts, as the retry sees it (a DomainActor). */
export interface FactHolder {
  /** The domain's uuid. */
  readonly uuid: string;
  /** Writes the held facts; resolves with them, rejects while the log refuses them. */
  writeHeld(): Promise<DomainFact[]>;
  /** The held facts and the latest refusal. */
  readonly heldFacts: { facts: DomainFact[]; cause: EventStoreWriteError | undefined };
}

/** Options of {@linkcode HeldFactsRetry}. */
export interface HeldFactsRetryOptions {
  /** Where operational messages go. */
  log: (message: string) => void;
  /** The name of a domain, for messages. */
  nameOf: (uuid: string) => string;
}

/**
 * Retries held facts with a bounded backoff.
 *
 * @example
 * ```ts ignore
 * const retry = new HeldFactsRetry({ log: console.error, nameOf: (uuid) => uuid });
 * retry.held(actor); // after the actor's append was refused
 * retry.refusal("start"); // a VirtError while facts wait
 * ```
 */
export class HeldFactsRetry {
  readonly #options: HeldFactsRetryOptions;
  readonly #holders = new Map<string, FactHolder>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<void> | undefined;
  #delayMs = HELD_RETRY_FIRST_DELAY_MS;
  #lastMessage: string | undefined;
  #closed = false;

  /** @param options Where messages go, and the names of domains. */
  constructor(options: HeldFactsRetryOptions) {
    this.#options = options;
  }

  /** How many domains hold facts. */
  get holding(): number {
    return this.#holders.size;
  }

  /** Registers a domain whose facts were refused, and schedules a retry. */
  held(holder: FactHolder): void {
    if (this.#closed) return;
    const first = this.#holders.size === 0;
    this.#holders.set(holder.uuid, holder);
    if (first) {
      this.#delayMs = HELD_RETRY_FIRST_DELAY_MS;
      const cause = holder.heldFacts.cause?.message ?? "the event log refused a write";
      this.#options.log(
        `${cause}; facts of domain ${this.#options.nameOf(holder.uuid)} are held and retried`,
      );
    }
    this.#schedule();
  }

  /**
   * The refusal of a command while facts are held, or undefined when it may run: commands that
   * make the hypervisor act (but `destroy`) wait until the log takes what already happened.
   */
  refusal(command: string): VirtError | undefined {
    if (!REFUSED_WHILE_HELD.has(command)) return undefined;
    // A holder whose facts were just written stays registered until its retry returns.
    const holding = [...this.#holders.values()].filter((each) =>
      each.heldFacts.cause !== undefined
    );
    if (holding.length === 0) return undefined;
    const [holder] = holding;
    const { facts, cause } = holder.heldFacts;
    const count = holding.reduce((sum, each) => sum + each.heldFacts.facts.length, 0);
    return new VirtError(
      ErrorCode.SYSTEM_ERROR,
      `cannot write the event log: ${
        cause?.failure.description ?? "writes are refused"
      }; ${command} ` +
        `was not attempted while ${count} fact${count === 1 ? "" : "s"} (first: ${
          facts[0]?.type ?? "dropped"
        } of domain '${this.#options.nameOf(holder.uuid)}') wait to be written; ` +
        `retrying every ${HELD_RETRY_MAX_DELAY_MS / 1000} s at most`,
      { cause },
    );
  }

  /**
   * Stops retrying after one last attempt, and reports any fact still refused: it is lost, and
   * reconcile at the next start records what it then finds.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
    if (this.#holders.size > 0) await this.#attempt();
    for (const holder of this.#holders.values()) {
      const { facts, cause } = holder.heldFacts;
      this.#options.log(
        `domain ${this.#options.nameOf(holder.uuid)}: ${facts.length} held facts (${
          facts.map((fact) => fact.type).join(", ")
        }) could not be written (${
          cause?.failure.description ?? "refused"
        }) and are lost; reconcile at the next start records what it finds`,
      );
    }
    this.#holders.clear();
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#running !== undefined || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#running = this.#attempt().finally(() => {
        this.#running = undefined;
        if (this.#holders.size > 0) this.#schedule();
      });
    }, this.#delayMs);
  }

  /** One pass over the holders: each writes its facts as a job of its own queue. */
  async #attempt(): Promise<void> {
    let refusal: string | undefined;
    for (const holder of [...this.#holders.values()]) {
      try {
        const written = await holder.writeHeld();
        this.#holders.delete(holder.uuid);
        this.#options.log(
          `domain ${this.#options.nameOf(holder.uuid)}: ${written.length} held facts written`,
        );
      } catch (error) {
        refusal ??= (error as Error).message;
      }
    }
    if (this.#holders.size === 0) {
      this.#delayMs = HELD_RETRY_FIRST_DELAY_MS;
      this.#lastMessage = undefined;
      return;
    }
    this.#delayMs = Math.min(this.#delayMs * 2, HELD_RETRY_MAX_DELAY_MS);
    // Say it once per change of cause, not once per retry.
    if (refusal !== undefined && refusal !== this.#lastMessage) {
      this.#lastMessage = refusal;
      this.#options.log(`held facts still refused: ${refusal}`);
    }
  }
}
