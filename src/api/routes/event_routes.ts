/**
 * `/v1/events`: the resumable event stream (SSE for a plain GET, WebSocket on upgrade).
 *
 * @module
 */

import { normalizeUuid } from "../../model/domain_list.ts";
import { ErrorCode, VirtError } from "../../model/errors.ts";
import { EVENT_IDS } from "../../model/lifecycle.ts";
import type { ApiRequestContext, RouteAdder, RouteContext } from "../api_context.ts";
import { type EventFilter, serveWebSocket, sseStream } from "../event_stream.ts";
import { isWebSocketUpgrade } from "../websocket_connection.ts";
import { fleetEventsResponse } from "../fleet_events.ts";
import { booleanParam } from "./domain_routes.ts";

type Context = RouteContext & ApiRequestContext;

/** Registers the event stream route. */
export function eventRoutes(add: RouteAdder): void {
  add("domain.events", (request, context) => events(request, context));
}

function events(request: Request, context: Context): Response {
  const { env } = context;
  const scope = context.url.searchParams.get("scope") ?? "local";
  const summary = booleanParam(context.url, "summary") ?? false;
  if (summary && scope !== "local") {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      "summary=true is for the local stream (scope=local)",
      {
        where: "summary",
      },
    );
  }
  if (scope === "fleet") return fleetEventsResponse(env, request, context.url);
  if (scope !== "local") {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      `scope must be 'local' or 'fleet', got '${scope}'`,
      { where: "scope" },
    );
  }
  const afterPosition = resumePosition(request, context.url, env.store.headPosition());
  const filter = eventFilter(context);
  const oldest = env.store.oldestPosition();
  if (afterPosition < oldest - 1) return goneResponse(afterPosition, oldest);
  if (afterPosition > env.store.headPosition()) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      `position ${afterPosition} is beyond the head of the log (${env.store.headPosition()})`,
      { where: "since" },
    );
  }
  if (env.metrics.subscribers >= env.events.subscribersMax) {
    throw new VirtError(
      ErrorCode.RESOURCE_BUSY,
      `the event stream already serves ${env.events.subscribersMax} subscribers`,
    );
  }
  const { connection } = context;
  const cut = connection === undefined ? undefined : () => connection.close();
  if (isWebSocketUpgrade(request)) {
    if (summary) {
      throw new VirtError(
        ErrorCode.OPERATION_UNSUPPORTED,
        "summary=true is served over Server-Sent Events only",
        { where: "summary" },
      );
    }
    if (connection === undefined) {
      throw new VirtError(
        ErrorCode.OPERATION_UNSUPPORTED,
        "a WebSocket needs a socket connection to the service",
      );
    }
    const { socket, response } = connection.upgradeWebSocket(request, {
      // A peer that stops reading is cut after the same bound as a stalled SSE subscriber.
      writeStallMs: env.events.subscriberStallMs,
    });
    serveWebSocket(env, socket, afterPosition, filter, cut);
    return response;
  }
  return new Response(sseStream(env, afterPosition, filter, cut, summary), {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      "x-accel-buffering": "no",
    },
  });
}

function goneResponse(afterPosition: number, oldest: number): Response {
  const error = new VirtError(
    ErrorCode.INVALID_ARG,
    `position ${afterPosition} is older than the oldest retained position ${oldest}: ` +
      "list the domains again, then follow from the head",
    { where: "since" },
  );
  return new Response(JSON.stringify({ error: error.toJSON(), oldestPosition: oldest }) + "\n", {
    status: 410,
    headers: { "content-type": "application/json" },
  });
}

/** `since` wins over `Last-Event-ID`; without either the stream starts at the head (live only). */
function resumePosition(request: Request, url: URL, head: number): number {
  const since = url.searchParams.get("since");
  const lastEventId = request.headers.get("last-event-id");
  const [text, where] = since !== null
    ? [since, "since"]
    : lastEventId !== null
    ? [lastEventId.trim(), "Last-Event-ID"]
    : [undefined, ""];
  if (text === undefined) return head;
  if (!/^[0-9]{1,15}$/.test(text)) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      `${where} must be a log position (a non-negative integer), got '${text}'`,
      { where },
    );
  }
  return Number(text);
}

function eventFilter(context: Context): EventFilter {
  const { searchParams } = context.url;
  const filter: EventFilter = {};
  const domains = searchParams.getAll("domain");
  if (domains.length > 0) {
    const uuids = new Set<string>();
    for (const reference of domains) {
      const uuid = normalizeUuid(reference) ??
        context.env.host.lookup(reference).uuid;
      uuids.add(uuid);
    }
    filter.uuids = uuids;
  }
  const names = searchParams.getAll("event");
  if (names.length > 0) {
    for (const name of names) {
      if (!EVENT_IDS.includes(name)) {
        throw new VirtError(
          ErrorCode.INVALID_ARG,
          `unknown event type '${name}' (known: ${EVENT_IDS.join(", ")})`,
          { where: "event" },
        );
      }
    }
    filter.events = new Set(names);
  }
  return filter;
}
