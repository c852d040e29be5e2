/**
 * The fleet event stream (`GET /v1/events?scope=fleet`, a NATS log only): every host's facts in
 * the order of the fleet stream, as Server-Sent Events of the same messages as the local stream
 * plus the host they come from. `id:` is `SEQ:INDEX` (the fact's commit group in the fleet stream
 * and its index there); `?since=SEQ:INDEX` or `Last-Event-ID` resume strictly after it, from any
 * host; `?since=now` gives only facts appended from then on; no `since` starts at the stream's
 * beginning.
 *
 * Each subscriber pulls: the next facts are read from JetStream only when the client has taken
 * the previous ones, so what waits for a slow client is one batch.
 *
 * @module
 */

import { factChecksum } from "../log/fact_checksum.ts";
import { type FleetFact, fleetId, parseFleetPosition } from "../log/fleet_stream.ts";
import { ErrorCode, VirtError } from "../model/errors.ts";
import { eventMessage } from "../projections/event_message.ts";
import type { ApiEnvironment } from "./api_context.ts";
import { sseControl } from "./event_stream.ts";

/** Fleet subscribers served at once, beside the local stream's. */
export const FLEET_SUBSCRIBERS_MAX = 64;

/** Domain names remembered per subscriber (from the definitions it saw). */
const NAMES_MAX = 100_000;

/** Heartbeat comment interval, ms: keeps proxies from closing an idle stream. */
const HEARTBEAT_MS = 15_000;

let subscribers = 0;

const encoder = new TextEncoder();

/**
 * Answers the fleet stream.
 *
 * @throws {VirtError} Code 3 on a local log; code 8 for a malformed resume id; code 55 when
 *   {@linkcode FLEET_SUBSCRIBERS_MAX} subscribers are served.
 */
export function fleetEventsResponse(env: ApiEnvironment, request: Request, url: URL): Response {
  const fleet = env.fleet;
  if (fleet === undefined) {
    throw new VirtError(
      ErrorCode.NO_SUPPORT,
      "this host keeps its log locally (EVIRT_LOG=sqlite): it has no fleet event stream",
    );
  }
  const since = url.searchParams.get("since") ?? request.headers.get("last-event-id");
  const after = since === null
    ? undefined
    : since.trim() === "now"
    ? "now"
    : parseFleetPosition(since.trim());
  if (since !== null && after === undefined) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      `a fleet position is SEQ:INDEX, SEQ or now, got '${since}'`,
      { where: url.searchParams.has("since") ? "since" : "Last-Event-ID" },
    );
  }
  if (subscribers >= FLEET_SUBSCRIBERS_MAX) {
    throw new VirtError(
      ErrorCode.RESOURCE_BUSY,
      `the fleet event stream already serves ${FLEET_SUBSCRIBERS_MAX} subscribers`,
    );
  }
  subscribers++;
  env.metrics.subscriber(1, "fleet");
  const stop = new AbortController();
  const ended = () => {
    if (stop.signal.aborted) return;
    stop.abort();
    subscribers--;
    env.metrics.subscriber(-1, "fleet");
    // The service's signal outlives every subscriber: leave nothing on it.
    env.shutdownSignal.removeEventListener("abort", ended);
  };
  env.shutdownSignal.addEventListener("abort", ended, { once: true });
  const facts = fleet.follow(after, stop.signal)[Symbol.asyncIterator]();
  const names = new Map<string, string>();
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(": fleet event stream\n\n"));
      heartbeat = setInterval(() => {
        if (!stop.signal.aborted) controller.enqueue(encoder.encode(": heartbeat\n\n"));
      }, HEARTBEAT_MS);
    },
    async pull(controller) {
      try {
        const next = await facts.next();
        if (next.done || stop.signal.aborted) {
          clearInterval(heartbeat);
          ended();
          controller.close();
          return;
        }
        controller.enqueue(encoder.encode(render(next.value, names)));
      } catch (error) {
        clearInterval(heartbeat);
        ended();
        const reason = error instanceof Error ? error.message : String(error);
        controller.enqueue(encoder.encode(sseControl("error", { reason })));
        controller.close();
      }
    },
    cancel() {
      clearInterval(heartbeat);
      ended();
    },
  });
  return new Response(body, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      "x-accel-buffering": "no",
    },
  });
}

/** One fact as an SSE message: the local stream's message, its host, and its fleet id. */
function render(item: FleetFact, names: Map<string, string>): string {
  const { fact } = item;
  const id = fleetId(item);
  if (factChecksum(fact) !== fact.checksum) {
    return `id: ${id}\n${sseControl("damaged", { host: item.host, position: fact.position })}`;
  }
  const body = JSON.parse(fact.bodyJson);
  const uuid = fact.stream.replace(/^domain\//, "");
  const defined = (body as { definition?: { name?: unknown } }).definition?.name;
  if (typeof defined === "string" && names.size < NAMES_MAX) names.set(uuid, defined);
  const renamed = fact.type === "domain.renamed" ? (body as { to?: unknown }).to : undefined;
  if (typeof renamed === "string") names.set(uuid, renamed);
  const message = eventMessage(
    { ...fact, body, schemaVersion: fact.schemaVersion },
    (key) => names.get(key),
  );
  const data = message === undefined
    ? { host: item.host, position: fact.position, stream: fact.stream, fact: fact.type }
    : { host: item.host, ...message };
  return `id: ${id}\ndata: ${JSON.stringify(data)}\n\n`;
}
