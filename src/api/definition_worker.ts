/**
 * The worker thread behind `DefinitionReaderPool` (definition_reader.ts): it turns one request
 * body into a checked definition per message, so the decoding, parse, defaults and checks of a
 * large definition run beside the service's main loop instead of on it. It also encodes the
 * definition's JSON text, as the log will store it, so the main loop does not walk and encode
 * it again when the define appends its fact (see `rememberJsonText` in src/log/json_text.ts),
 * and deflates its large parts, so the main loop keeps the definition compact without parsing
 * them (src/log/compact_json.ts).
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
import { FACT_BODY_MAX_BYTES } from "../log/event_store.ts";
import { type CompactJson, compactJsonTransfer, prepareCompactJson } from "../log/compact_json.ts";
import { bodyText, definitionFromText } from "./definition_text.ts";

/** What the worker is asked: a body (text, or its UTF-8 bytes), its content type and the read options. */
export interface DefinitionWorkerRequest {
  body: string | Uint8Array;
  contentType: string;
  maxBytes: number;
  live: boolean;
}

/**
 * What the worker answers: the definition as its JSON text (as the log stores it, with what the
 * log's checks need) and its large parts deflated, or the definition itself when the log would
 * refuse its JSON (the append then says why), or the error reading it threw. Only one copy of a
 * large definition crosses to the main loop, which parses only its small parts.
 */
export type DefinitionWorkerReply =
  | { ok: true; compact: CompactJson }
  | { ok: true; definition: DomainDefinition }
  | WorkerErrorReply;

/**
 * Answers one request (exported so it can be tested without a thread).
 *
 * @example
 * ```ts
 * import { answerDefinitionRequest } from "./definition_worker.ts";
 * const reply = answerDefinitionRequest({ body: "<domain/>", contentType: "", maxBytes: 1024, live: false });
 * console.log(reply.ok); // false
 * ```
 */
export function answerDefinitionRequest(request: DefinitionWorkerRequest): DefinitionWorkerReply {
  try {
    const text = typeof request.body === "string" ? request.body : bodyText(request.body);
    const definition = definitionFromText(text, request.contentType, {
      maxBytes: request.maxBytes,
      live: request.live,
    });
    try {
      return {
        ok: true,
        compact: prepareCompactJson(definition, "definition", FACT_BODY_MAX_BYTES),
      };
    } catch {
      // Left to the append, which refuses it with the same checks on the main loop.
      return { ok: true, definition };
    }
  } catch (error) {
    return replyOfError(error);
  }
}

serveWorkerRequests(
  (request: DefinitionWorkerRequest) => {
    const reply = answerDefinitionRequest(request);
    // The body moved here: its memory is freed now, not at this thread's next collection.
    if (typeof request.body !== "string") (request.body.buffer as ArrayBuffer).transfer(0);
    return reply;
  },
  (reply) => reply.ok && "compact" in reply ? compactJsonTransfer(reply.compact) : [],
);
