/**
 * A bounded pool of worker threads for CPU-heavy, pure work (reading a large definition, a
 * driver's dry build), so one request's work never holds up the service's main loop.
 *
 * Bounded everywhere: at most `threadsMax` threads, at most `queueMax` requests waiting for one
 * (one more is refused with code 87), and each request gets `timeoutMs` on its thread (thread
 * start included) before the thread is ended and the caller gets code 68. Threads start when a
 * request finds every thread busy and stay until {@linkcode WorkerPool.close}: starting one
 * stalls the starting loop for about 200 ms, so it must never happen per request
 * ({@linkcode WorkerPool.prestart} moves it before the service accepts callers).
 *
 * The worker module answers each message with exactly one message.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";
import { runInBackground } from "./background_priority.ts";

/** Limits of a {@linkcode WorkerPool}. */
export interface WorkerPoolOptions {
  /** Threads at once. */
  threadsMax: number;
  /** Requests waiting for a thread; one more is refused with code 87. */
  queueMax: number;
  /** Time per request on its thread (thread start included), in ms. */
  timeoutMs: number;
  /** What the threads do, for messages (e.g. `reading the definition`). */
  task: string;
}

interface Job<Request, Reply> {
  request: Request;
  transfer: Transferable[];
  yieldAround: boolean;
  resolve: (reply: Reply) => void;
  reject: (error: Error) => void;
}

/**
 * Worker threads running one module (see the module notes).
 *
 * @example
 * ```ts ignore
 * import { WorkerPool } from "./worker_pool.ts";
 * const pool = new WorkerPool<string, number>(new URL("./length_worker.ts", import.meta.url).href, {
 *   threadsMax: 1, queueMax: 8, timeoutMs: 1000, task: "measuring",
 * });
 * console.log(await pool.run("abc")); // 3
 * pool.close();
 * ```
 */
export class WorkerPool<Request, Reply> {
  readonly #url: string;
  readonly #options: WorkerPoolOptions;
  readonly #waiting: Job<Request, Reply>[] = [];
  readonly #threads = new Set<Worker>();
  readonly #idle: Worker[] = [];
  /** Ends the job a busy thread runs (used by close). */
  readonly #busy = new Map<Worker, () => void>();
  #closed = false;

  /**
   * @param url The worker module's URL.
   * @param options The limits.
   */
  constructor(url: string, options: WorkerPoolOptions) {
    const { threadsMax, queueMax, timeoutMs } = options;
    if (!(threadsMax >= 1) || !(queueMax >= 1) || !(timeoutMs > 0)) {
      throw new TypeError(
        `Limits must be positive, received ${threadsMax} threads, queue ${queueMax}, ${timeoutMs} ms`,
      );
    }
    this.#url = url;
    this.#options = options;
  }

  /** Threads alive now (busy or idle). */
  get threads(): number {
    return this.#threads.size;
  }

  /** Starts one thread now if none lives, so the first request does not pay for it. */
  prestart(): void {
    if (this.#closed || this.#threads.size > 0) return;
    this.#idle.push(this.#spawn());
  }

  /**
   * Runs one request on a thread and resolves its reply.
   *
   * @param request The message.
   * @param transfer Buffers the message moves to the thread instead of copying (a large
   *   request body): unusable here once the request is posted.
   * @param yieldAround Let the loop run other callers' work between the caller's work and the
   *   copy of the request to its thread, and between the copy of the reply here and the
   *   caller's work on it (a timer turn each, about 1 ms): for a message copied, not moved, of
   *   megabytes (each copy several milliseconds), so a caller's chain of such steps never holds
   *   the loop for all of them at once. Default false.
   * @throws {VirtError} 87 when the queue is full; 68 when the thread took longer than the
   *   timeout; 1 when the thread failed or the message could not be posted (a buffer to move
   *   was moved already); 78 when the pool was closed first.
   */
  run(
    request: Request,
    transfer: Transferable[] = [],
    yieldAround = false,
  ): Promise<Reply> {
    if (this.#closed) return Promise.reject(closedError());
    if (this.#waiting.length >= this.#options.queueMax) {
      return Promise.reject(
        new VirtError(
          ErrorCode.RESOURCE_BUSY,
          `too many requests waiting for ${this.#options.task} (${this.#options.queueMax}); try again`,
        ),
      );
    }
    const done = new Promise<Reply>((resolve, reject) => {
      this.#waiting.push({ request, transfer, yieldAround, resolve, reject });
    });
    this.#dispatch();
    if (!yieldAround) return done;
    return done.then(
      (reply) => new Promise<Reply>((resolve) => setTimeout(() => resolve(reply), 0)),
    );
  }

  /** Ends every thread; requests waiting or running are refused with code 78. */
  close(): void {
    this.#closed = true;
    for (const end of [...this.#busy.values()]) end();
    for (const job of this.#waiting.splice(0)) job.reject(closedError());
    for (const thread of this.#threads) thread.terminate();
    this.#threads.clear();
    this.#idle.length = 0;
  }

  #spawn(): Worker {
    const thread = new Worker(this.#url, { type: "module" });
    this.#threads.add(thread);
    return thread;
  }

  /** Hands waiting requests to idle threads, starting threads up to the limit. */
  #dispatch(): void {
    while (this.#waiting.length > 0 && !this.#closed) {
      let thread = this.#idle.pop();
      if (thread === undefined) {
        if (this.#threads.size >= this.#options.threadsMax) return;
        thread = this.#spawn();
      }
      const job = this.#waiting.shift()!;
      const running = thread;
      void this.#run(running, job).then((healthy) => {
        if (healthy && !this.#closed) {
          this.#idle.push(running);
        } else {
          running.terminate();
          this.#threads.delete(running);
        }
        this.#dispatch();
      });
    }
  }

  /** Runs one job; resolves whether the thread can take another. */
  #run(thread: Worker, job: Job<Request, Reply>): Promise<boolean> {
    return new Promise((settle) => {
      const finish = (healthy: boolean) => {
        clearTimeout(timer);
        thread.onmessage = null;
        thread.onerror = null;
        this.#busy.delete(thread);
        settle(healthy);
      };
      const timer = setTimeout(() => {
        finish(false);
        job.reject(
          new VirtError(
            ErrorCode.OPERATION_TIMEOUT,
            `${this.#options.task} took longer than ${this.#options.timeoutMs} ms`,
          ),
        );
      }, this.#options.timeoutMs);
      this.#busy.set(thread, () => {
        finish(false);
        job.reject(closedError());
      });
      thread.onmessage = (event: MessageEvent<Reply>) => {
        finish(true);
        job.resolve(event.data);
      };
      thread.onerror = (event: ErrorEvent) => {
        event.preventDefault();
        finish(false);
        job.reject(
          new VirtError(ErrorCode.INTERNAL_ERROR, `${this.#options.task} failed: ${event.message}`),
        );
      };
      const post = () => {
        try {
          thread.postMessage(job.request, { transfer: job.transfer });
        } catch (error) {
          // Nothing reached the thread (e.g. a buffer to move was detached): it is still sound.
          finish(true);
          job.reject(
            new VirtError(
              ErrorCode.INTERNAL_ERROR,
              `${this.#options.task} failed: ${(error as Error).message}`,
            ),
          );
        }
      };
      if (!job.yieldAround) {
        post();
        return;
      }
      setTimeout(() => {
        // Unless the job ended meanwhile (closed, or out of time).
        if (this.#busy.has(thread)) post();
      }, 0);
    });
  }
}

function closedError(): VirtError {
  return new VirtError(ErrorCode.OPERATION_ABORTED, "the service is shutting down");
}

/** A libvirt error as a worker sends it back: code, message, where. */
export interface WorkerErrorReply {
  ok: false;
  code?: number;
  message: string;
  where?: string;
}

/**
 * The error a worker's reply describes, as the caller would have thrown it in place.
 *
 * @example
 * ```ts
 * import { errorOfReply } from "./worker_pool.ts";
 * console.log(errorOfReply({ ok: false, code: 27, message: "bad", where: "/domain" }).message); // "bad"
 * ```
 */
export function errorOfReply(reply: WorkerErrorReply): Error {
  if (reply.code === undefined) return new Error(reply.message);
  return new VirtError(
    reply.code as ConstructorParameters<typeof VirtError>[0],
    reply.message,
    reply.where === undefined ? {} : { where: reply.where },
  );
}

/**
 * The reply a worker sends for an error it caught: a {@linkcode VirtError}'s code, message and
 * where, or any other error's message.
 *
 * @example
 * ```ts
 * import { replyOfError } from "./worker_pool.ts";
 * console.log(replyOfError(new Error("boom"))); // { ok: false, message: "boom" }
 * ```
 */
export function replyOfError(error: unknown): WorkerErrorReply {
  if (error instanceof VirtError) {
    return {
      ok: false,
      code: error.code,
      message: error.message,
      ...(error.where === undefined ? {} : { where: error.where }),
    };
  }
  return { ok: false, message: error instanceof Error ? error.message : String(error) };
}

/**
 * Installs `answer` as the message handler when this module runs as a worker thread (a reply's
 * buffers that `transferOf` names move with it), and makes the thread a background thread
 * (src/workers/background_priority.ts: it never preempts the service's main loop); does nothing
 * on the main thread (where tests import worker modules).
 *
 * @example
 * ```ts
 * import { serveWorkerRequests } from "./worker_pool.ts";
 * serveWorkerRequests((request: string) => request.length); // no-op outside a worker
 * ```
 */
export function serveWorkerRequests<Request, Reply>(
  answer: (request: Request) => Reply,
  transferOf: (reply: Reply) => Transferable[] = () => [],
): void {
  const global = globalThis as { DedicatedWorkerGlobalScope?: abstract new () => unknown };
  const inWorker = global.DedicatedWorkerGlobalScope !== undefined &&
    globalThis instanceof global.DedicatedWorkerGlobalScope;
  if (!inWorker) return;
  runInBackground();
  const scope = globalThis as unknown as {
    onmessage: ((event: MessageEvent<Request>) => void) | null;
    postMessage(message: Reply, options: { transfer: Transferable[] }): void;
  };
  scope.onmessage = (event) => {
    const reply = answer(event.data);
    scope.postMessage(reply, { transfer: transferOf(reply) });
  };
}
