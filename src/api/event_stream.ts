/**
 * The event stream (`GET /v1/events`): every fact of the log as one message, as Server-Sent
 * Events or over a WebSocket, resumable from a position.
 *
 * - `id:` is the fact's global position; `?since=P` or `Last-Event-ID: P` resume strictly after P.
 * - Below the oldest retained position the answer is 410, so the client re-lists (as Kubernetes).
 * - Heartbeats are SSE comments (no `id:`), so they never move a client's resume position.
 * - A subscriber's unread messages are bounded: past the bound it gets a `dropped` message that
 *   says why and where to resume, and the stream ends. Nothing is lost: resuming from the last
 *   position it saw delivers the rest.
 *
 * @module
 */

import { isVirtError } from "../model/errors.ts";
import { type DomainFact, isDomainFactType, libvirtEventOf, uuidOfStream } from "../model/facts.ts";
import type { Fact } from "../log/event_store.ts";
import { PositionPrunedError } from "../log/errors.ts";
import type { ApiEnvironment } from "./api_context.ts";
import type { EventMessage } from "./views.ts";

/** What a subscriber asked for. */
export interface EventFilter {
  /** Only these domains (uuids); undefined for all. */
  uuids?: ReadonlySet<string>;
  /** Only these event names (`lifecycle`, `reboot`, …); undefined for every fact. */
  events?: ReadonlySet<string>;
}

/**
 * The message for a fact, or undefined when the fact is not about a domain.
 *
 * @param nameOf The domain's name by uuid (the log's facts carry the uuid).
 */
export function eventMessage(
  fact: Fact,
  nameOf: (uuid: string) => string | undefined,
): EventMessage | undefined {
  const uuid = uuidOfStream(fact.stream);
  if (uuid === undefined || !isDomainFactType(fact.type)) return undefined;
  const libvirt = libvirtEventOf({ type: fact.type, body: fact.body } as DomainFact);
  return {
    position: fact.position,
    time: new Date(fact.timestampMs).toISOString(),
    domain: { uuid, name: nameOf(uuid) ?? "" },
    fact: fact.type,
    eventId: libvirt?.eventId ?? null,
    event: libvirt?.event ?? null,
    ...(libvirt?.lifecycle === undefined ? {} : { lifecycle: libvirt.lifecycle }),
    ...(libvirt?.data === undefined ? {} : { data: libvirt.data }),
  };
}

/** Whether a message passes a subscriber's filter. */
export function passes(message: EventMessage, filter: EventFilter): boolean {
  if (filter.uuids !== undefined && !filter.uuids.has(message.domain.uuid)) return false;
  if (filter.events !== undefined) {
    return message.event !== null && filter.events.has(message.event);
  }
  return true;
}

/** One SSE message: the fact's position as `id`, the JSON as `data`, LF line endings. */
export function sseMessage(message: EventMessage): string {
  return `id: ${message.position}\ndata: ${JSON.stringify(message)}\n\n`;
}

/** An SSE control message without an `id` (so it never moves a client's position). */
export function sseControl(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** Why a subscriber was dropped, as sent to it. */
export interface DroppedNotice {
  reason: string;
  /** Resume with `since` = this position. */
  resumeAfter: number;
}

/**
 * Follows the log from `afterPosition`, yielding the messages that pass `filter`, until `signal`
 * aborts. Each yielded item carries the last position examined (to resume from after a drop).
 */
export async function* followEvents(
  env: ApiEnvironment,
  afterPosition: number,
  filter: EventFilter,
  signal: AbortSignal,
): AsyncGenerator<{ message?: EventMessage; position: number }> {
  const nameOf = (uuid: string) => env.host.nameOfUuid(uuid);
  for await (const fact of env.store.subscribe({ afterPosition, signal })) {
    const message = eventMessage(fact, nameOf);
    if (message !== undefined && passes(message, filter)) {
      yield { message, position: fact.position };
    } else {
      yield { position: fact.position };
    }
  }
}

/**
 * An SSE response body following the log. Heartbeats every `heartbeatMs`. The log is read at the
 * subscriber's pace: up to `subscriberBufferMax` messages may wait unread; when that many wait and
 * the subscriber reads nothing for `subscriberStallMs`, it is dropped with a `dropped` message.
 */
export function sseStream(
  env: ApiEnvironment,
  afterPosition: number,
  filter: EventFilter,
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  // The client going away cancels the stream (see `cancel`); the request's own signal is not
  // used, as Deno aborts it once a response has been handed over.
  const stop = new AbortController();
  const signal = AbortSignal.any([stop.signal, env.shutdownSignal]);
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  let wakePump: (() => void) | undefined;
  const { subscriberBufferMax, heartbeatMs, subscriberStallMs } = env.events;
  const waitForRoom = (controller: ReadableStreamDefaultController<Uint8Array>) =>
    new Promise<boolean>((resolve) => {
      if ((controller.desiredSize ?? 1) > 0) return resolve(true);
      const timer = setTimeout(() => {
        wakePump = undefined;
        resolve(false);
      }, subscriberStallMs);
      wakePump = () => {
        clearTimeout(timer);
        wakePump = undefined;
        resolve(true);
      };
    });
  return new ReadableStream<Uint8Array>({
    start(controller) {
      env.metrics.subscriber(1);
      // Tells proxies and clients the stream is open before the first fact arrives.
      controller.enqueue(encoder.encode(": evirt event stream\n\n"));
      heartbeat = setInterval(() => {
        try {
          controller.enqueue(encoder.encode(": heartbeat\n\n"));
        } catch {
          stop.abort();
        }
      }, heartbeatMs);
      const drop = (reason: string, resumeAfter: number) => {
        const notice: DroppedNotice = { reason, resumeAfter };
        try {
          controller.enqueue(encoder.encode(sseControl("dropped", notice)));
        } catch {
          // the client is gone
        }
      };
      const pump = async () => {
        let lastPosition = afterPosition;
        try {
          for await (const item of followEvents(env, afterPosition, filter, signal)) {
            if (item.message !== undefined) {
              if (!await waitForRoom(controller)) {
                env.metrics.subscriberDropped();
                drop(
                  `slow subscriber: ${subscriberBufferMax} messages unread for ` +
                    `${subscriberStallMs} ms; resume with since=${lastPosition}`,
                  lastPosition,
                );
                break;
              }
              controller.enqueue(encoder.encode(sseMessage(item.message)));
            }
            lastPosition = item.position;
          }
        } catch (error) {
          if (!signal.aborted) {
            drop(
              error instanceof PositionPrunedError
                ? "the stream fell behind log retention: list again, then resume from the head"
                : `stream failed: ${(error as Error).message}`,
              lastPosition,
            );
          }
        } finally {
          clearInterval(heartbeat);
          env.metrics.subscriber(-1);
          try {
            controller.close();
          } catch {
            // already closed by the client
          }
        }
      };
      pump();
    },
    pull() {
      wakePump?.();
    },
    cancel() {
      clearInterval(heartbeat);
      wakePump?.();
      stop.abort();
    },
  }, { highWaterMark: subscriberBufferMax });
}

/**
 * Serves the stream over an upgraded WebSocket: one JSON text message per fact, a JSON `dropped`
 * message before closing a slow subscriber (code 4008).
 */
export function serveWebSocket(
  env: ApiEnvironment,
  socket: WebSocket,
  afterPosition: number,
  filter: EventFilter,
): void {
  const stop = new AbortController();
  const signal = AbortSignal.any([stop.signal, env.shutdownSignal]);
  const bufferedMaxBytes = env.events.subscriberBufferMax * 512;
  socket.addEventListener("close", () => stop.abort());
  socket.addEventListener("open", async () => {
    env.metrics.subscriber(1);
    let lastPosition = afterPosition;
    try {
      for await (const item of followEvents(env, afterPosition, filter, signal)) {
        if (item.message !== undefined) {
          if (!await drained(socket, bufferedMaxBytes, env.events.subscriberStallMs)) {
            env.metrics.subscriberDropped();
            socket.send(JSON.stringify({
              dropped: {
                reason: `slow subscriber: ${socket.bufferedAmount} bytes unsent for ` +
                  `${env.events.subscriberStallMs} ms; resume with since=${lastPosition}`,
                resumeAfter: lastPosition,
              },
            }));
            socket.close(4008, "slow subscriber");
            return;
          }
          socket.send(JSON.stringify(item.message));
        }
        lastPosition = item.position;
      }
    } catch (error) {
      if (!signal.aborted && socket.readyState === WebSocket.OPEN) {
        const reason = isVirtError(error) ? error.fullMessage : (error as Error).message;
        socket.send(JSON.stringify({ dropped: { reason, resumeAfter: lastPosition } }));
        socket.close(4010, "stream ended");
      }
    } finally {
      env.metrics.subscriber(-1);
      if (socket.readyState === WebSocket.OPEN) socket.close(1001, "service stopping");
    }
  });
}

/** How often a WebSocket's send buffer is checked while waiting for it to drain. */
const DRAIN_POLL_MS = 20;

/** Waits until the socket's unsent bytes fall to `maxBytes`; false after `stallMs`. */
async function drained(socket: WebSocket, maxBytes: number, stallMs: number): Promise<boolean> {
  const deadline = Date.now() + stallMs;
  while (socket.bufferedAmount > maxBytes) {
    if (Date.now() >= deadline || socket.readyState !== WebSocket.OPEN) return false;
    await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
  }
  return true;
}
