/**
 * A progress line for long waits, on stderr and only when stderr is a terminal, so pipes and
 * scripts see nothing of it. It appears after a short delay (quick commands never show it),
 * counts the seconds, and is erased before anything else is printed.
 *
 * @module
 */

/** How long a wait lasts before the progress line appears. */
export const PROGRESS_DELAY_MS = 1000;
/** How often the line is redrawn. */
export const PROGRESS_TICK_MS = 1000;
/** Longest label shown, in characters (the line must fit a terminal row). */
const PROGRESS_LABEL_MAX = 60;

/**
 * A progress line.
 *
 * @example
 * ```ts
 * import { Progress } from "./progress.ts";
 * const progress = new Progress((text) => Deno.stderr.writeSync(new TextEncoder().encode(text)), false);
 * progress.start("waiting for events");
 * progress.stop(); // disabled: nothing was ever written
 * ```
 */
export class Progress {
  readonly #write: (text: string) => void;
  readonly #enabled: boolean;
  readonly #now: () => number;
  readonly #delayMs: number;
  readonly #tickMs: number;
  #label = "";
  #startedMs = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #shown = false;

  /**
   * @param write Writes to stderr.
   * @param enabled Whether stderr is a terminal.
   * @param options.now The clock, in ms. Default `Date.now`.
   * @param options.delayMs Default {@linkcode PROGRESS_DELAY_MS}.
   * @param options.tickMs Default {@linkcode PROGRESS_TICK_MS}.
   */
  constructor(
    write: (text: string) => void,
    enabled: boolean,
    options: { now?: () => number; delayMs?: number; tickMs?: number } = {},
  ) {
    this.#write = write;
    this.#enabled = enabled;
    this.#now = options.now ?? Date.now;
    this.#delayMs = options.delayMs ?? PROGRESS_DELAY_MS;
    this.#tickMs = options.tickMs ?? PROGRESS_TICK_MS;
  }

  /** Starts (or restarts) the line with `label`; it appears after {@linkcode PROGRESS_DELAY_MS}. */
  start(label: string): void {
    this.stop();
    if (!this.#enabled) return;
    this.#label = label.slice(0, PROGRESS_LABEL_MAX);
    this.#startedMs = this.#now();
    const first = setTimeout(() => {
      this.#draw();
      const tick = setInterval(() => this.#draw(), this.#tickMs);
      Deno.unrefTimer(tick);
      this.#timer = tick;
    }, this.#delayMs);
    // The line must never keep the process alive.
    Deno.unrefTimer(first);
    this.#timer = first;
  }

  /** Changes the label of a started line (shown at the next redraw), e.g. bytes moved so far. */
  relabel(label: string): void {
    this.#label = label.slice(0, PROGRESS_LABEL_MAX);
  }

  /** Erases the line and stops redrawing it. */
  stop(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
    if (this.#shown) {
      this.#write("\r\x1b[K");
      this.#shown = false;
    }
  }

  /**
   * Shows the line while `promise` runs.
   *
   * @returns What `promise` resolves to.
   */
  async during<T>(label: string, promise: Promise<T>): Promise<T> {
    this.start(label);
    try {
      return await promise;
    } finally {
      this.stop();
    }
  }

  #draw(): void {
    const seconds = Math.floor((this.#now() - this.#startedMs) / 1000);
    this.#write(`\r\x1b[K${this.#label}… ${seconds}s`);
    this.#shown = true;
  }
}
