/**
 * One bound on the request body bytes all requests hold at once, so many large concurrent
 * defines cannot grow the service's memory without limit. A request takes bytes from the budget
 * as its body arrives and gives them back when it is answered; one that does not find room
 * within a short wait is refused with code 87 (the caller may retry), never left hanging.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";

/** How long a request may wait for room in the budget, in ms. */
export const BODY_BUDGET_WAIT_MS = 5000;

interface Waiter {
  bytes: number;
  grant: () => void;
}

/**
 * A budget of bytes shared by all requests, granted in arrival order.
 *
 * @example
 * ```ts
 * import { BodyBudget } from "./body_budget.ts";
 * const budget = new BodyBudget(1024);
 * await budget.take(1000);
 * console.log(budget.heldBytes); // 1000
 * budget.give(1000);
 * ```
 */
export class BodyBudget {
  readonly #maxBytes: number;
  readonly #waitMs: number;
  readonly #subject: string;
  #heldBytes = 0;
  readonly #waiters: Waiter[] = [];

  /**
   * @param maxBytes Bytes all requests may hold at once.
   * @param waitMs How long one request may wait for room, in ms.
   * @param subject The refusal's wording, with `{held}`, `{wanted}` and `{max}` filled in (the same budget also bounds how many
   *   large definitions are processed at once, counted in definitions).
   */
  constructor(
    maxBytes: number,
    waitMs = BODY_BUDGET_WAIT_MS,
    subject = "request bodies in progress hold {held} bytes; {wanted} more would pass " +
      "the limit of {max} bytes",
  ) {
    if (!Number.isInteger(maxBytes) || maxBytes < 1) {
      throw new RangeError(`Budget must be a positive integer, received ${maxBytes}`);
    }
    this.#maxBytes = maxBytes;
    this.#waitMs = waitMs;
    this.#subject = subject;
  }

  /** Bytes held now. */
  get heldBytes(): number {
    return this.#heldBytes;
  }

  /** The bound. */
  get maxBytes(): number {
    return this.#maxBytes;
  }

  /**
   * Takes `bytes`, waiting for room in arrival order.
   *
   * @throws {VirtError} Code 87 when no room was found within the wait, or when `bytes` alone
   *   exceeds the budget.
   */
  take(bytes: number): Promise<void> {
    if (bytes > this.#maxBytes) return Promise.reject(this.#busy(bytes));
    if (this.#waiters.length === 0 && this.#heldBytes + bytes <= this.#maxBytes) {
      this.#heldBytes += bytes;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        bytes,
        grant: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        const index = this.#waiters.indexOf(waiter);
        if (index !== -1) this.#waiters.splice(index, 1);
        reject(this.#busy(bytes));
        this.#grantWaiters();
      }, this.#waitMs);
      this.#waiters.push(waiter);
    });
  }

  /** Gives back `bytes` taken before. */
  give(bytes: number): void {
    this.#heldBytes -= bytes;
    if (this.#heldBytes < 0) throw new RangeError("Gave back more bytes than were taken");
    this.#grantWaiters();
  }

  #grantWaiters(): void {
    while (this.#waiters.length > 0) {
      const first = this.#waiters[0];
      if (this.#heldBytes + first.bytes > this.#maxBytes) return;
      this.#waiters.shift();
      this.#heldBytes += first.bytes;
      first.grant();
    }
  }

  #busy(bytes: number): VirtError {
    return new VirtError(
      ErrorCode.RESOURCE_BUSY,
      `${
        this.#subject.replace("{held}", String(this.#heldBytes)).replace("{wanted}", String(bytes))
          .replace("{max}", String(this.#maxBytes))
      } within ${this.#waitMs} ms; try again later`,
      { where: "body" },
    );
  }
}

/**
 * `request` with its body drawn through `budget`: before the handler reads the first byte, the
 * whole body's bytes are taken at once (its `content-length`, or `maxBytes` when the length is
 * not declared), so two half-read requests can never wait on each other. Call the returned
 * `release` once the request is answered.
 *
 * @param maxBytes The largest body any route accepts; a body over what was taken is refused
 *   (code 8).
 */
export function budgetedRequest(
  request: Request,
  budget: BodyBudget,
  maxBytes: number,
): { request: Request; release: () => void } {
  if (request.body === null) return { request, release: () => {} };
  const declared = Number(request.headers.get("content-length") ?? NaN);
  const wantedBytes = Math.min(
    Number.isSafeInteger(declared) && declared >= 0 ? declared : maxBytes,
    maxBytes,
    budget.maxBytes,
  );
  let takenBytes = 0;
  let readBytes = 0;
  let released = false;
  const metered = request.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      async transform(chunk, controller) {
        if (takenBytes === 0 && !released && wantedBytes > 0) {
          await budget.take(wantedBytes);
          // Granted after the answer: given back at once.
          if (released) budget.give(wantedBytes);
          else takenBytes = wantedBytes;
        }
        readBytes += chunk.byteLength;
        if (readBytes > wantedBytes) {
          throw new VirtError(
            ErrorCode.INVALID_ARG,
            `request body is larger than the limit of ${wantedBytes} bytes`,
            { where: "body" },
          );
        }
        controller.enqueue(chunk);
      },
    }),
  );
  const wrapped = new Request(request, { body: metered, duplex: "half" } as RequestInit);
  return {
    request: wrapped,
    release: () => {
      if (released) return;
      released = true;
      budget.give(takenBytes);
      takenBytes = 0;
    },
  };
}
