/**
 * Reading define and create bodies off the service's main loop: parsing, defaults and checks
 * of a definition run on worker threads (src/api/definition_worker.ts), so one caller's large
 * definition never delays another caller's request.
 *
 * Bodies up to {@linkcode DEFINITION_INLINE_MAX_CHARS} characters are read on the main loop: a thread
 * costs about 200 ms to start, far more than such a body takes (a few milliseconds, bounded by
 * the device limits), so only larger ones go to a thread.
 *
 * Bounded everywhere: at most {@linkcode DEFINITION_READERS_MAX} threads at once, at most
 * {@linkcode DEFINITION_QUEUE_MAX} bodies waiting for one (one more is refused with code 87),
 * and each body gets {@linkcode DEFINITION_READ_TIMEOUT_MS} on its thread before the thread is
 * ended and the caller gets code 68. Threads live until the pool is closed with the service.
 *
 * @module
 */

import type { DomainDefinition } from "../model/domain.ts";
import { ErrorCode, type ErrorCodeValue, VirtError } from "../model/errors.ts";
import type { DefinitionWorkerReply, DefinitionWorkerRequest } from "./definition_worker.ts";
import { definitionFromText, type DefinitionReadOptions } from "./definition_text.ts";

/**
 * Largest body read on the main loop, in UTF-16 characters (the reading's work grows with
 * them); larger ones are read on a worker thread.
 */
export const DEFINITION_INLINE_MAX_CHARS = 64 * 1024;

/** Worker threads reading definitions at once (the host's cores are for its guests). */
export const DEFINITION_READERS_MAX = 2;

/** Bodies waiting for a thread; one more is refused with code 87. */
export const DEFINITION_QUEUE_MAX = 64;

/** How long one body may take on its thread (thread start included), in ms. */
export const DEFINITION_READ_TIMEOUT_MS = 30_000;

const WORKER_URL = new URL("./definition_worker.ts", import.meta.url).href;

/** Options of {@linkcode DefinitionReaderPool}. */
export interface DefinitionReaderPoolOptions {
  /** Threads at once. Default {@linkcode DEFINITION_READERS_MAX}. */
  readersMax?: number;
  /** Bodies waiting. Default {@linkcode DEFINITION_QUEUE_MAX}. */
  queueMax?: number;
  /** Time per body, in ms. Default {@linkcode DEFINITION_READ_TIMEOUT_MS}. */
  timeoutMs?: number;
}

interface Job {
  request: DefinitionWorkerRequest;
  resolve: (definition: DomainDefinition) => void;
  reject: (error: Error) => void;
}

/**
 * A bounded set of worker threads that read definitions (see the module notes). Threads start
 * when a body needs one and all are busy, and stay until {@linkcode DefinitionReaderPool.close}:
 * starting one stalls the starting thread's loop for about 200 ms, so it must not happen per
 * request.
 *
 * @example
 * ```ts
 * import { DefinitionReaderPool } from "./definition_reader.ts";
 * const pool = new DefinitionReaderPool();
 * const def = await pool.read({
 *   text: "<domain type='test'><name>t</name><memory>1024</memory><os><type>hvm</type></os></domain>",
 *   contentType: "application/xml",
 *   maxBytes: 65536,
 *   live: false,
 * });
 * console.log(def.name); // "t"
 * pool.close();
 * ```
 */
export class DefinitionReaderPool {
  readonly #readersMax: number;
  readonly #queueMax: number;
  readonly #timeoutMs: number;
  readonly #waiting: Job[] = [];
  readonly #threads = new Set<Worker>();
  readonly #idle: Worker[] = [];
  /** Ends the job a busy thread runs (used by close). */
  readonly #busy = new Map<Worker, () => void>();
  #closed = false;

  constructor(options: DefinitionReaderPoolOptions = {}) {
    this.#readersMax = options.readersMax ?? DEFINITION_READERS_MAX;
    this.#queueMax = options.queueMax ?? DEFINITION_QUEUE_MAX;
    this.#timeoutMs = options.timeoutMs ?? DEFINITION_READ_TIMEOUT_MS;
    if (!(this.#readersMax >= 1) || !(this.#queueMax >= 1) || !(this.#timeoutMs > 0)) {
      throw new TypeError(
        `Limits must be positive, received ${this.#readersMax} readers, queue ${this.#queueMax}, ${this.#timeoutMs} ms`,
      );
    }
  }

  /** Threads alive now (busy or idle). */
  get threads(): number {
    return this.#threads.size;
  }

  /**
   * Starts one thread now if none lives, so the first large body does not pay for it: call it
   * before the service accepts callers.
   */
  prestart(): void {
    if (this.#closed || this.#threads.size > 0) return;
    this.#idle.push(this.#spawn());
  }

  /**
   * Reads one body on a worker thread.
   *
   * @throws {VirtError} The definition's own error (parse or check); 87 when the queue is
   *   full; 68 when the thread took longer than the timeout; 1 when the thread failed; 78 when
   *   the pool was closed first.
   */
  read(request: DefinitionWorkerRequest): Promise<DomainDefinition> {
    if (this.#closed) return Promise.reject(closedError());
    if (this.#waiting.length >= this.#queueMax) {
      return Promise.reject(
        new VirtError(
          ErrorCode.RESOURCE_BUSY,
          `too many definitions waiting to be read (${this.#queueMax}); try again`,
        ),
      );
    }
    const done = new Promise<DomainDefinition>((resolve, reject) => {
      this.#waiting.push({ request, resolve, reject });
    });
    this.#dispatch();
    return done;
  }

  /** Ends every thread; bodies waiting or being read are refused with code 78. */
  close(): void {
    this.#closed = true;
    for (const end of [...this.#busy.values()]) end();
    for (const job of this.#waiting.splice(0)) job.reject(closedError());
    for (const thread of this.#threads) thread.terminate();
    this.#threads.clear();
    this.#idle.length = 0;
  }

  #spawn(): Worker {
    const thread = new Worker(WORKER_URL, { type: "module" });
    this.#threads.add(thread);
    return thread;
  }

  /** Hands waiting bodies to idle threads, starting threads up to the limit. */
  #dispatch(): void {
    while (this.#waiting.length > 0 && !this.#closed) {
      let thread = this.#idle.pop();
      if (thread === undefined) {
        if (this.#threads.size >= this.#readersMax) return;
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
  #run(thread: Worker, job: Job): Promise<boolean> {
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
            `reading the definition took longer than ${this.#timeoutMs} ms`,
          ),
        );
      }, this.#timeoutMs);
      this.#busy.set(thread, () => {
        finish(false);
        job.reject(closedError());
      });
      thread.onmessage = (event: MessageEvent<DefinitionWorkerReply>) => {
        finish(true);
        settleJob(job, event.data);
      };
      thread.onerror = (event: ErrorEvent) => {
        event.preventDefault();
        finish(false);
        job.reject(
          new VirtError(ErrorCode.INTERNAL_ERROR, `definition reader failed: ${event.message}`),
        );
      };
      thread.postMessage(job.request);
    });
  }
}

function closedError(): VirtError {
  return new VirtError(ErrorCode.OPERATION_ABORTED, "the service is shutting down");
}

function settleJob(job: Job, reply: DefinitionWorkerReply): void {
  if (reply.ok) {
    job.resolve(reply.definition);
  } else if (reply.code !== undefined) {
    const where = "where" in reply ? reply.where : undefined;
    job.reject(
      new VirtError(
        reply.code as ErrorCodeValue,
        reply.message,
        where === undefined ? {} : { where },
      ),
    );
  } else {
    job.reject(new Error(reply.message));
  }
}

/**
 * Reads a define or create body: on the main loop when it is small or no pool is given (see
 * the module notes), else on the pool's worker threads.
 *
 * @param text The body.
 * @param contentType The request's `content-type` ("" when absent).
 * @param options The size limit and mode.
 * @param pool The service's pool, when it has one.
 */
export function readDefinition(
  text: string,
  contentType: string,
  options: DefinitionReadOptions,
  pool?: DefinitionReaderPool,
): Promise<DomainDefinition> {
  if (pool === undefined || text.length <= DEFINITION_INLINE_MAX_CHARS) {
    return Promise.resolve().then(() => definitionFromText(text, contentType, options));
  }
  return pool.read({
    text,
    contentType,
    maxBytes: options.maxBytes,
    live: options.live ?? false,
  });
}
