/**
 * Reading define and create bodies off the service's main loop: parsing, defaults and checks
 * of a definition run on worker threads (src/api/definition_worker.ts), so one caller's large
 * definition never delays another caller's request.
 *
 * Bodies up to {@linkcode DEFINITION_INLINE_MAX_BYTES} bytes are read on the main loop: handing
 * one to a thread costs more than such a body takes (a few milliseconds, bounded by the device
 * limits), so only larger ones go to a thread. A large body's bytes move to the thread (no copy),
 * which decodes them too, and answers with the definition's JSON text, which the log stores as
 * it is, and its large parts deflated: the main loop parses only the small parts and keeps the
 * definition compact (src/log/compact_json.ts).
 *
 * Bounded as every `WorkerPool` (src/workers/worker_pool.ts): at most {@linkcode DEFINITION_READERS_MAX}
 * threads, {@linkcode DEFINITION_QUEUE_MAX} bodies waiting (one more: code 87), and
 * {@linkcode DEFINITION_READ_TIMEOUT_MS} per body (then code 68). Threads live until the pool is
 * closed with the service.
 *
 * @module
 */

import type { DomainDefinition } from "../model/domain.ts";
import { errorOfReply, WorkerPool } from "../workers/worker_pool.ts";
import { valueOfCompactJson } from "../log/compact_json.ts";
import type { DefinitionWorkerReply, DefinitionWorkerRequest } from "./definition_worker.ts";
import { bodyText, definitionFromText, type DefinitionReadOptions } from "./definition_text.ts";

/** Largest body read on the main loop, in bytes; larger ones are read on a worker thread. */
export const DEFINITION_INLINE_MAX_BYTES = 64 * 1024;

/**
 * Worker threads reading definitions at once. One: a second thread did not define large
 * definitions any faster (32 concurrent 4 MiB defines: 8.7–9.0 s with one, 8.6 s with two; the
 * main loop's part of each and the log's sync overlap the thread's), but its heap (the garbage of
 * a 4 MiB body until it is collected) raised the service's peak memory from 316 to 360 MiB.
 */
export const DEFINITION_READERS_MAX = 1;

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

/**
 * The worker threads that read definitions (see the module notes and src/workers/worker_pool.ts).
 *
 * @example
 * ```ts
 * import { DefinitionReaderPool } from "./definition_reader.ts";
 * const pool = new DefinitionReaderPool();
 * const def = await pool.read({
 *   body: "<domain type='test'><name>t</name><memory>1024</memory><os><type>hvm</type></os></domain>",
 *   contentType: "application/xml",
 *   maxBytes: 65536,
 *   live: false,
 * });
 * console.log(def.name); // "t"
 * pool.close();
 * ```
 */
export class DefinitionReaderPool {
  readonly #pool: WorkerPool<DefinitionWorkerRequest, DefinitionWorkerReply>;

  constructor(options: DefinitionReaderPoolOptions = {}) {
    this.#pool = new WorkerPool(WORKER_URL, {
      threadsMax: options.readersMax ?? DEFINITION_READERS_MAX,
      queueMax: options.queueMax ?? DEFINITION_QUEUE_MAX,
      timeoutMs: options.timeoutMs ?? DEFINITION_READ_TIMEOUT_MS,
      task: "reading the definition",
    });
  }

  /** Threads alive now (busy or idle). */
  get threads(): number {
    return this.#pool.threads;
  }

  /** Starts one thread now if none lives: call it before the service accepts callers. */
  prestart(): void {
    this.#pool.prestart();
  }

  /**
   * Reads one body on a worker thread. A body given as bytes moves there: it is unusable here
   * afterwards. The definition comes back compact, its JSON text remembered for the log's
   * append of it (src/log/compact_json.ts).
   *
   * @throws {VirtError} The definition's own error (parse or check); 87 when the queue is
   *   full; 68 when the thread took longer than the timeout; 1 when the thread failed; 78 when
   *   the pool was closed first.
   */
  async read(request: DefinitionWorkerRequest): Promise<DomainDefinition> {
    const transfer = typeof request.body === "string" ? [] : [request.body.buffer as ArrayBuffer];
    const reply = await this.#pool.run(request, transfer);
    if (!reply.ok) throw errorOfReply(reply);
    if ("definition" in reply) return reply.definition;
    return valueOfCompactJson(reply.compact);
  }

  /** Ends every thread; bodies waiting or being read are refused with code 78. */
  close(): void {
    this.#pool.close();
  }
}

/**
 * Reads a define or create body: on the main loop when it is small or no pool is given (see
 * the module notes), else on the pool's worker threads.
 *
 * @param body The body's bytes; they must own their whole buffer (a large body's buffer moves
 *   to the thread).
 * @param contentType The request's `content-type` ("" when absent).
 * @param options The size limit and mode.
 * @param pool The service's pool, when it has one.
 */
export function readDefinition(
  body: Uint8Array,
  contentType: string,
  options: DefinitionReadOptions,
  pool?: DefinitionReaderPool,
): Promise<DomainDefinition> {
  if (pool === undefined || body.byteLength <= DEFINITION_INLINE_MAX_BYTES) {
    return Promise.resolve().then(() => definitionFromText(bodyText(body), contentType, options));
  }
  if (body.byteOffset !== 0 || body.byteLength !== body.buffer.byteLength) {
    throw new RangeError("a large body must own its whole buffer: it moves to a thread");
  }
  return pool.read({
    body,
    contentType,
    maxBytes: options.maxBytes,
    live: options.live ?? false,
  });
}
