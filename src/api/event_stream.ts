/**
 * The event stream (`GET /v1/events`): every fact of the log as one message, as Server-Sent
 * Events or over a WebSocket, resumable from a position.
 *
 * - `id:` is the fact's global position; `?since=P` or `Last-Event-ID: P` resume strictly after P.
 * - Below the oldest retained position the answer is 410, so the client re-lists (as Kubernetes).
 * - Heartbeats are SSE comments (no `id:`), so they never move a client's resume position.
 * - Each subscriber reads at its own pace through a cursor on the {@linkcode EventHub}; what waits
 *   for it is bounded. A subscriber whose buffer is full and that reads nothing for the stall
 *   time is dropped with a `dropped` message saying why and where to resume; resuming from the
 *   last position it saw delivers the rest, so nothing is lost. Over a socket the drop also cuts
 *   the connection at once (the notice is queued behind what the subscriber did not read, so it
 *   reaches only a subscriber that reads again), freeing its slot and its buffers together.
 * - With `summary=true` (SSE only) the stream also carries the host summary as a `summary`
 *   control event (no `id:`): at the start, then whenever a subscriber count or the oldest
 *   readable position changes, so a page shows who follows the stream without polling. While the
 *   client does not read, one change waits (the latest summary is sent when it reads again).
 *
 * @module
 */

import { isVirtError } from "../model/errors.ts";
import { PositionPrunedError } from "../log/errors.ts";
import type { ApiEnvironment } from "./api_context.ts";
import { type EventFilter, passes } from "../projections/event_message.ts";
import type { HubEntry } from "../projections/event_hub.ts";
import { type EventSocket, SOCKET_OPEN } from "./websocket_connection.ts";
import { concatBytes } from "../model/byte_chunks.ts";
import { hostSummaryView } from "./host_summary.ts";

export type { EventFilter } from "../projections/event_message.ts";

/** Messages sent to a subscriber in one chunk at most. */
const BATCH_MESSAGES_MAX = 256;
/** How often a stalled subscriber is checked, in ms. */
const STALL_CHECK_MS = 250;
/** How often a WebSocket's send buffer is checked while waiting for it to drain, in ms. */
const DRAIN_POLL_MS = 20;

const encoder = new TextEncoder();

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

/** The next messages for a subscriber after `cursor`, and the cursor after them. */
async function nextBatch(
  env: ApiEnvironment,
  cursor: number,
  filter: EventFilter,
): Promise<{ entries: HubEntry[]; cursor: number }> {
  const batch = await env.hub.batchAfter(cursor, BATCH_MESSAGES_MAX);
  if (batch.length === 0) return { entries: [], cursor };
  const entries = batch.filter((entry) =>
    entry.message !== undefined && passes(entry.message, filter)
  );
  return { entries, cursor: batch[batch.length - 1].position };
}

function droppedReason(error: unknown, cursor: number): DroppedNotice {
  return {
    reason: error instanceof PositionPrunedError
      ? "the stream fell behind log retention: list again, then follow from the head"
      : `stream failed: ${isVirtError(error) ? error.fullMessage : (error as Error).message}`,
    resumeAfter: cursor,
  };
}

/**
 * An SSE response body following the log from `afterPosition`. It is pulled: messages are read
 * and sent only as fast as the client takes them, batched into chunks.
 *
 * @param onDropped Called when the subscriber is dropped for being slow (cuts its connection).
 * @param summary Also sends the host summary's changes as `summary` control events.
 */
export function sseStream(
  env: ApiEnvironment,
  afterPosition: number,
  filter: EventFilter,
  onDropped?: () => void,
  summary = false,
): ReadableStream<Uint8Array> {
  const { heartbeatMs, subscriberBufferMax, subscriberStallMs } = env.events;
  const stop = new AbortController();
  const signal = AbortSignal.any([stop.signal, env.shutdownSignal]);
  let cursor = afterPosition;
  let lastPullMs = Date.now();
  let stallTimer: ReturnType<typeof setInterval> | undefined;
  let finished = false;
  let stopWatching: (() => void) | undefined;
  /** The last summary sent, its log position aside (that moves with every fact). */
  let summarySent = "";
  /** The summary as a control message when it changed since the last one sent. */
  const summaryChange = (): Uint8Array | undefined => {
    const view = hostSummaryView(env);
    const key = JSON.stringify([view.log.oldestPosition, view.subscribers]);
    if (key === summarySent) return undefined;
    summarySent = key;
    return encoder.encode(sseControl("summary", view));
  };
  const finish = (
    controller: ReadableStreamDefaultController<Uint8Array>,
    notice?: DroppedNotice,
  ) => {
    if (finished) return;
    finished = true;
    stopWatching?.();
    clearInterval(stallTimer);
    env.metrics.subscriber(-1, "sse");
    stop.abort();
    try {
      if (notice !== undefined) controller.enqueue(encoder.encode(sseControl("dropped", notice)));
      controller.close();
    } catch {
      // the client is gone
    }
  };
  return new ReadableStream<Uint8Array>({
    start(controller) {
      env.metrics.subscriber(1, "sse");
      // Tells proxies and clients the stream is open before the first fact arrives.
      controller.enqueue(encoder.encode(": evirt event stream\n\n"));
      if (summary) {
        controller.enqueue(summaryChange()!);
        // A change while the client reads nothing waits for its next read (pull, below).
        stopWatching = env.metrics.watchSubscribers(() => {
          if (finished || (controller.desiredSize ?? 1) <= 0) return;
          const change = summaryChange();
          if (change !== undefined) controller.enqueue(change);
        });
      }
      stallTimer = setInterval(() => {
        const stalled = Date.now() - lastPullMs > subscriberStallMs;
        if (stalled && (controller.desiredSize ?? 1) <= 0 && env.hub.head > cursor) {
          env.metrics.subscriberDropped();
          finish(controller, {
            reason: `slow subscriber: its buffer of ${subscriberBufferMax} messages stayed full ` +
              `for ${subscriberStallMs} ms; resume with since=${cursor}`,
            resumeAfter: cursor,
          });
          onDropped?.();
        }
      }, STALL_CHECK_MS);
      signal.addEventListener("abort", () => finish(controller), { once: true });
    },
    async pull(controller) {
      lastPullMs = Date.now();
      const change = summary && !finished ? summaryChange() : undefined;
      if (change !== undefined) {
        controller.enqueue(change);
        return;
      }
      while (!finished) {
        let next;
        try {
          next = await nextBatch(env, cursor, filter);
        } catch (error) {
          finish(controller, droppedReason(error, cursor));
          return;
        }
        if (next.cursor === cursor) {
          const outcome = await env.hub.waitBeyond(cursor, heartbeatMs, signal);
          if (outcome === "ended") return finish(controller);
          if (outcome === "timeout") {
            controller.enqueue(encoder.encode(": heartbeat\n\n"));
            return;
          }
          continue;
        }
        cursor = next.cursor;
        if (next.entries.length === 0) continue;
        controller.enqueue(concat(next.entries));
        return;
      }
    },
    cancel() {
      if (finished) return;
      finished = true;
      stopWatching?.();
      clearInterval(stallTimer);
      env.metrics.subscriber(-1, "sse");
      stop.abort();
    },
  }, { highWaterMark: Math.max(1, Math.ceil(subscriberBufferMax / BATCH_MESSAGES_MAX)) });
}

function concat(entries: HubEntry[]): Uint8Array {
  return concatBytes(entries.map((entry) => entry.sse!));
}

/**
 * Serves the stream over an upgraded WebSocket: one JSON text message per fact, and a JSON
 * `dropped` message before closing a subscriber that stops reading (code 4008).
 *
 * @param onDropped Called when the subscriber is dropped for being slow (cuts its connection).
 */
export function serveWebSocket(
  env: ApiEnvironment,
  socket: EventSocket,
  afterPosition: number,
  filter: EventFilter,
  onDropped?: () => void,
): void {
  const stop = new AbortController();
  const signal = AbortSignal.any([stop.signal, env.shutdownSignal]);
  // About the bytes of the buffer an SSE subscriber may have waiting.
  const bufferedMaxBytes = env.events.subscriberBufferMax * 512;
  socket.addEventListener("close", () => stop.abort());
  socket.addEventListener("open", async () => {
    env.metrics.subscriber(1, "websocket");
    let cursor = afterPosition;
    try {
      while (!signal.aborted) {
        const next = await nextBatch(env, cursor, filter);
        if (next.cursor === cursor) {
          const outcome = await env.hub.waitBeyond(cursor, env.events.heartbeatMs, signal);
          if (outcome === "ended") break;
          continue;
        }
        for (const entry of next.entries) socket.send(entry.json!);
        cursor = next.cursor;
        if (!await drained(socket, bufferedMaxBytes, env.events.subscriberStallMs)) {
          env.metrics.subscriberDropped();
          socket.send(JSON.stringify({
            dropped: {
              reason: `slow subscriber: ${socket.bufferedAmount} bytes unsent for ` +
                `${env.events.subscriberStallMs} ms; resume with since=${cursor}`,
              resumeAfter: cursor,
            },
          }));
          socket.close(4008, "slow subscriber");
          onDropped?.();
          return;
        }
      }
    } catch (error) {
      if (!signal.aborted && socket.readyState === SOCKET_OPEN) {
        socket.send(JSON.stringify({ dropped: droppedReason(error, cursor) }));
        socket.close(4010, "stream ended");
      }
    } finally {
      env.metrics.subscriber(-1, "websocket");
      if (socket.readyState === SOCKET_OPEN) socket.close(1001, "service stopping");
    }
  });
}

/** Waits until the socket's unsent bytes fall to `maxBytes`; false after `stallMs`. */
async function drained(socket: EventSocket, maxBytes: number, stallMs: number): Promise<boolean> {
  const deadline = Date.now() + stallMs;
  while (socket.bufferedAmount > maxBytes) {
    if (Date.now() >= deadline || socket.readyState !== SOCKET_OPEN) return false;
    await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
  }
  return true;
}
