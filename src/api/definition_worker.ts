/**
 * The worker thread behind `readDefinitionOffLoop`: it turns one request body into a checked
 * definition per message, so the parse, defaults and checks of a large definition run beside
 * the service's main loop instead of on it.
 *
 * Message in: {@linkcode DefinitionWorkerRequest}. Message out: {@linkcode DefinitionWorkerReply}.
 *
 * @module
 */

import type { DomainDefinition } from "../model/domain.ts";
import {
  replyOfError,
  serveWorkerRequests,
  type WorkerErrorReply,
} from "../workers/worker_pool.ts";
import { definitionFromText } from "./definition_text.ts";

/** What the worker is asked: a body, its content type and the read options. */
export interface DefinitionWorkerRequest {
  text: string;
  contentType: string;
  maxBytes: number;
  live: boolean;
}

/** What the worker answers: the definition, or the error reading it threw. */
export type DefinitionWorkerReply = { ok: true; definition: DomainDefinition } | WorkerErrorReply;

/**
 * Answers one request (exported so it can be tested without a thread).
 *
 * @example
 * ```ts
 * import { answerDefinitionRequest } from "./definition_worker.ts";
 * const reply = answerDefinitionRequest({ text: "<domain/>", contentType: "", maxBytes: 1024, live: false });
 * console.log(reply.ok); // false
 * ```
 */
export function answerDefinitionRequest(request: DefinitionWorkerRequest): DefinitionWorkerReply {
  try {
    const definition = definitionFromText(request.text, request.contentType, {
      maxBytes: request.maxBytes,
      live: request.live,
    });
    return { ok: true, definition };
  } catch (error) {
    return replyOfError(error);
  }
}

serveWorkerRequests(answerDefinitionRequest);
