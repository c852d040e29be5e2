/**
 * Wakes subscribers waiting for the log's head to move past their position.
 *
 * @module
 */

/** Why a wait ended. */
export type HeadWaitOutcome = "advanced" | "aborted" | "closed" | "timeout";

/**
 * The log head, announced to waiters after each commit. Every wait is bounded by a timeout, so a
 * waiter that somehow missed a notification re-checks the store on its own.
 *
 * @example Waiting for the next commit
 * ```ts
 * import { HeadSignal } from "./head_signal.ts";
 * const signal = new HeadSignal(0);
 * const outcome = signal.wait(0, undefined, 1000);
 * signal.advance(3);
 * console.log(await outcome); // "advanced"
 * ```
 */
export class HeadSignal {
  #head: number;
  #closed = false;
  readonly #waiters = new Set<() => void>();

  /** @param head The head position at start. */
  constructor(head: number) {
    this.#head = head;
  }

  /** The last announced head position. */
  get head(): number {
    return this.#head;
  }

  /** Whether {@linkcode HeadSignal.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Announces a new head and wakes every waiter. */
  advance(head: number): void {
    if (head < this.#head) throw new Error(`Head moved backwards: ${this.#head} to ${head}`);
    this.#head = head;
    this.#wakeAll();
  }

  /** Ends every current and future wait with "closed". */
  close(): void {
    this.#closed = true;
    this.#wakeAll();
  }

  /**
   * Waits until the head passes `afterPosition`, `signal` aborts, the signal closes, or
   * `timeoutMs` elapses, whichever comes first.
   */
  wait(afterPosition: number, signal: AbortSignal | undefined, timeoutMs: number): Promise<
    HeadWaitOutcome
  > {
    const outcome = this.#outcome(afterPosition, signal);
    if (outcome !== undefined) return Promise.resolve(outcome);
    return new Promise((resolve) => {
      const finish = (value: HeadWaitOutcome) => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        this.#waiters.delete(onWake);
        resolve(value);
      };
      const onWake = () => {
        const value = this.#outcome(afterPosition, signal);
        if (value !== undefined) finish(value);
      };
      const onAbort = () => finish("aborted");
      const timer = setTimeout(() => finish("timeout"), timeoutMs);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.add(onWake);
    });
  }

  #outcome(afterPosition: number, signal: AbortSignal | undefined): HeadWaitOutcome | undefined {
    if (signal?.aborted) return "aborted";
    if (this.#closed) return "closed";
    if (this.#head > afterPosition) return "advanced";
    return undefined;
  }

  #wakeAll(): void {
    for (const wake of [...this.#waiters]) wake();
  }
}
