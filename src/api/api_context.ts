/**
 * What every API route handler can reach: the host, the log, limits, metrics, and the caller's
 * role.
 *
 * @module
 */

import type { Host } from "../../actors/host.ts";
import type { NodeInfo } from "../../actors/driver_protocol.ts";
import type { EventStore } from "../log/event_store.ts";
import type { EventHub } from "./event_hub.ts";
import type { Metrics } from "./metrics.ts";
import type { RoutedOperationName } from "../model/operations.ts";
import type { Handler, RouteContext } from "./router.ts";

/** A caller's access: read-write is root-equivalent; read-only can list, read and subscribe. */
export type Role = "read-write" | "read-only";

/** Tunables of the event stream. */
export interface EventStreamSettings {
  /** Interval between SSE heartbeat comments, in ms. */
  heartbeatMs: number;
  /** Messages a subscriber may have unread; the log is read no faster than it reads them. */
  subscriberBufferMax: number;
  /** How long a subscriber with a full buffer may read nothing before it is dropped, in ms. */
  subscriberStallMs: number;
  /** Subscribers served at once; one more answers 503. */
  subscribersMax: number;
}

/** The service pieces the routes use. */
export interface ApiEnvironment {
  host: Host;
  store: EventStore;
  metrics: Metrics;
  /** The one reader of the log's tail that every event stream takes its messages from. */
  hub: EventHub;
  /** Largest domain XML or JSON definition accepted, in bytes. */
  xmlMaxBytes: number;
  /** Largest other request body, in bytes. */
  bodyMaxBytes: number;
  /** How long a request may take before it is answered with code 68 (not event streams). */
  requestTimeoutMs: number;
  events: EventStreamSettings;
  /** The host's name, for `hostname`. */
  hostname(): string;
  /** The host's hardware, for `nodeinfo`. */
  nodeInfo(): NodeInfo;
  /** Ends every event stream when aborted (service shutdown). */
  shutdownSignal: AbortSignal;
}

/** What a handler receives besides the request. */
export interface ApiRequestContext {
  role: Role;
  env: ApiEnvironment;
  /**
   * Aborted when the caller goes away or the request times out: handlers pass it to host
   * commands, so a queued job a caller gave up on is not run.
   */
  signal: AbortSignal;
}

/** A route handler of the API. */
export type ApiHandler = Handler<ApiRequestContext>;

/**
 * A route registration function for one resource file: the operation's row in the operations
 * table gives the method, path, role check and streaming; the file gives the handler.
 */
export type RouteAdder = (operation: RoutedOperationName, handler: ApiHandler) => void;

/** Re-exported for route files. */
export type { RouteContext };
