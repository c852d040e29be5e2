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
import { VirtError } from "../model/errors.ts";
import { definitionFromText } from "./definition_text.ts";

/** What the worker is asked: a body, its content type and the read options. */
export interface DefinitionWorkerRequest {
  text: string;
  contentType: string;
  maxBytes: number;
  live: boolean;
}

/** What the worker answers: the definition, a libvirt error, or an unexpected failure. */
export type DefinitionWorkerReply =
  | { ok: true; definition: DomainDefinition }
  | { ok: false; code: number; message: string; where?: string }
  | { ok: false; code?: undefined; message: string };

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
}

/** The worker scope's two members used here (typed by hand: the module is also imported). */
interface WorkerScope {
  onmessage: ((event: MessageEvent<DefinitionWorkerRequest>) => void) | null;
  postMessage(message: DefinitionWorkerReply): void;
}

// Only inside a worker thread: importing this module on the main thread (tests) installs nothing.
const global = globalThis as { DedicatedWorkerGlobalScope?: abstract new () => unknown };
if (
  global.DedicatedWorkerGlobalScope !== undefined &&
  globalThis instanceof global.DedicatedWorkerGlobalScope
) {
  const scope = globalThis as unknown as WorkerScope;
  scope.onmessage = (event) => scope.postMessage(answerDefinitionRequest(event.data));
}
