/**
 * What every API route handler can reach: the host, the log, limits, metrics, and the caller's
 * role.
 *
 * @module
 */

import type { Host } from "../../actors/host.ts";
import type { StoragePools } from "../../actors/storage_pools.ts";
import type { Networks } from "../../actors/networks.ts";
import type { Secrets } from "../../actors/secrets.ts";
import type { HostGuests } from "../../actors/host_guests.ts";
import type { MigrationTuning, NodeInfo } from "../../actors/driver_protocol.ts";
import type { EventStore } from "../log/event_store.ts";
import type { FleetHost } from "../log/host_registry.ts";
import type { FleetFact, FleetPosition } from "../log/fleet_stream.ts";
import type { FleetDomainsView, MigratedView } from "./views.ts";
import type { DefinitionReaderPool } from "./definition_reader.ts";
import type { BodyBudget } from "./body_budget.ts";
import type { EventHub } from "../projections/event_hub.ts";
import type { ConnectionHandle } from "./http1_connection.ts";
import type { Metrics } from "./metrics.ts";
import type { SerialConsoles } from "../host/serial_consoles.ts";
import type { EventStreamSettings } from "../projections/event_hub.ts";
export type { EventStreamSettings } from "../projections/event_hub.ts";
import type { RoutedOperationName } from "../model/operations.ts";
import type { Handler, RouteContext } from "./router.ts";

import type { CarriedConsole, ConsoleRequest } from "./console_access.ts";

/** Set on a request forwarded by another host of the fleet: that host's name. */
export const FORWARDED_HEADER = "x-evirt-forwarded-by";

/** A caller's access: read-write is root-equivalent; read-only can list, read and subscribe. */
export type Role = "read-write" | "read-only";

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
  /** The bound on request body bytes all requests hold at once. */
  bodies: BodyBudget;
  /** How long a request may take before it is answered with code 68 (not event streams). */
  requestTimeoutMs: number;
  events: EventStreamSettings;
  /** The host's name, for `hostname`. */
  hostname(): string;
  /** The host's hardware, for `nodeinfo`. */
  nodeInfo(): NodeInfo;
  /** The hosts sharing the NATS log; absent when the log is local (SQLite): code 3. */
  fleet?: {
    hosts(): Promise<FleetHost[]>;
    /** Every host's facts in the fleet stream's order, after `after` (from the start when undefined). */
    follow(
      after: FleetPosition | "now" | undefined,
      signal: AbortSignal,
    ): AsyncIterable<FleetFact>;
    /** Every domain's lease (absent until the host's domains joined the fleet). */
    domains?(): FleetDomainsView["domains"];
    /** The host that owns the domain `reference` (name or uuid) when it is not this one. */
    ownerElsewhere?(reference: string): string | undefined;
    /** Answers `request` by the host `owner` (one hop). */
    forward?(owner: string, request: Request, role: Role): Promise<Response>;
    /** Opens the serial console of a domain `owner` owns, carried from it. */
    openConsole?(owner: string, request: ConsoleRequest): Promise<CarriedConsole>;
    /** Moves a shut-off domain this host owns to `target` (`migrate --offline`). */
    moveOffline?(reference: string, target: string): Promise<{ uuid: string; name: string }>;
    /** Moves a running domain to `target` (a live migration), with QEMU's final figures. */
    moveLive?(
      reference: string,
      target: string,
      tuning?: MigrationTuning,
    ): Promise<MigratedView>;
  };
  /** The stops and starts of the host's guests; absent without a service (code 3). */
  guests?: HostGuests;
  /** Ends every event stream when aborted (service shutdown). */
  shutdownSignal: AbortSignal;
  /** The storage pools; absent where the service has none (the in-process test hypervisor). */
  storage?: StoragePools;
  /** The virtual networks; absent where the service has none (the in-process test hypervisor). */
  networks?: Networks;
  /** The host's secrets; absent where the service has none (the in-process test hypervisor). */
  secrets?: Secrets;
  /**
   * Check every JSON answer against the schema its row documents, answering 500 (code 1) naming
   * the difference when it does not match: the test services' guard that the OpenAPI document
   * says what the routes return. Off in a service (it costs a validation per answer).
   */
  checkAnswers?: boolean;
  /** Worker threads that read large definitions off the main loop; absent: read in place. */
  definitionReader?: DefinitionReaderPool;
  /**
   * How many large definitions (bodies over `DEFINITION_INLINE_MAX_BYTES`, or of unknown length)
   * are defined or created at once, counted one each: what one holds while it is parsed,
   * checked, recorded and snapshotted is many times its body, so this bounds the service's
   * memory under many concurrent large defines. Absent: no bound.
   */
  largeDefinitions?: BodyBudget;
  /** The serial console sessions (one writer per device); absent: no console socket. */
  consoles?: SerialConsoles;
  /** Told of every answered call (for the service's log); absent: calls are not logged. */
  onRequest?: (record: ApiRequestRecord) => void;
}

/** One answered API call. */
export interface ApiRequestRecord {
  /** Also sent as the `X-Request-Id` response header. */
  requestId: string;
  method: string;
  /** The route's pattern (`/v1/domains/:ref`), or the path when no route matched. */
  route: string;
  role: Role;
  status: number;
  /** Until the answer's head (an event stream goes on after it), in ms. */
  durationMs: number;
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
  /** The connection the request came on; absent for in-process calls. */
  connection?: ConnectionHandle;
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
