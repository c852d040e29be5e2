/**
 * The service's core: the host actor over a log, and the API on it, without listeners, the
 * SQLite log or token checks. The in-process `test:///default` connection uses only this, so it
 * loads none of what a listening service needs (`node:sqlite`, `node:crypto`, the socket server).
 *
 * @module
 */

import type { Driver } from "../../actors/driver_protocol.ts";
import { Host } from "../../actors/host.ts";
import type { EventStreamSettings } from "../projections/event_hub.ts";
import { type Api, createApi } from "../api/app.ts";
import { SerialConsoles } from "../host/serial_consoles.ts";
import type { ApiEnvironment } from "../api/api_context.ts";
import type { StoragePools } from "../../actors/storage_pools.ts";
import type { Networks } from "../../actors/networks.ts";
import type { Secrets } from "../../actors/secrets.ts";
import { LARGE_DEFINITION_WAIT_MS, LARGE_DEFINITIONS_MAX } from "../api/routes/domain_routes.ts";
import { DefinitionReaderPool } from "../api/definition_reader.ts";
import { EventHub } from "../projections/event_hub.ts";
import { Metrics } from "../api/metrics.ts";
import { BodyBudget } from "../api/body_budget.ts";
import { REQUEST_BODIES_MAX_BYTES_DEFAULT } from "../config/config.ts";
import type { EventStore } from "../log/event_store.ts";
import { readNodeInfo } from "./node_info.ts";
import { HostGuests } from "../../actors/host_guests.ts";
import { GUESTS_POLICY_DEFAULT, type GuestsPolicy } from "../config/guests_policy.ts";

/** Defaults of the event stream. */
export const EVENT_STREAM_DEFAULTS: EventStreamSettings = {
  heartbeatMs: 15_000,
  subscriberBufferMax: 10_000,
  subscriberStallMs: 30_000,
  subscribersMax: 1024,
};

/** Largest request body other than a domain definition, in bytes. */
export const BODY_MAX_BYTES = 1024 * 1024;

/** How long a request may take (plus any `?wait=`), in ms. */
export const REQUEST_TIMEOUT_MS = 120_000;

/** A host and its API, without listeners (what the in-process connection uses). */
export interface ServiceCore {
  host: Host;
  store: EventStore;
  api: Api;
  metrics: Metrics;
  /** The event hub (exposed for diagnostics and tests). */
  hub: EventHub;
  /** The serial console sessions the web console and `virDomainOpenConsole` share. */
  consoles: SerialConsoles;
  /** The worker threads that read large definitions (closed with the core). */
  definitionReader: DefinitionReaderPool;
  /** The bound on request body bytes in progress (exposed for diagnostics and tests). */
  bodies: BodyBudget;
  /** The bound on large definitions defined at once (exposed for diagnostics and tests). */
  largeDefinitions: BodyBudget;
  /** Gives the API the storage pools (opened after the core, on their own log). */
  attachStorage(storage: StoragePools): void;
  /** Gives the API the networks (opened after the core, on their own log). */
  attachNetworks(networks: Networks): void;
  /** Gives the API the secrets (opened after the core, on their own log). */
  attachSecrets(secrets: Secrets): void;
  /** Answers `GET /v1/fleet/hosts` from the fleet's host registry (a NATS log only). */
  attachFleet(fleet: NonNullable<ApiEnvironment["fleet"]>): void;
  /** The stops and starts of the host's guests (libvirt-guests' behaviour). */
  guests: HostGuests;
  /** Ends every event stream (so listeners can drain), without closing anything else. */
  endStreams(): void;
  /** Ends event streams, closes the host (instances keep running) and the log. */
  close(): Promise<void>;
}

/** Options of {@linkcode createServiceCore}. */
export interface ServiceCoreOptions {
  store: EventStore;
  drivers: Driver[];
  xmlMaxBytes: number;
  /** Request body bytes all requests may hold at once. Default: `REQUEST_BODIES_MAX_BYTES_DEFAULT`. */
  requestBodiesMaxBytes?: number;
  autostart?: boolean;
  events?: Partial<EventStreamSettings>;
  nodeInfo?: () => ReturnType<typeof readNodeInfo>;
  hostname?: () => string;
  log?: (message: string) => void;
  /** Told of every answered API call (the service logs them). */
  onRequest?: ApiEnvironment["onRequest"];
  /** Where managed save images live; absent: managed save answers code 3. */
  managedSaveDir?: string;
  /** Check every JSON answer against its documented schema (tests; `ApiEnvironment`). */
  checkAnswers?: boolean;
  /** What stops and starts of the host's guests do. Default libvirt-guests' defaults. */
  guests?: GuestsPolicy;
  /** Where the lines of the host's guests' stops and starts go (libvirt-guests' output). */
  guestsLog?: (line: string) => void;
}

/** Opens the host over a store and builds the API on it. */
export async function createServiceCore(options: ServiceCoreOptions): Promise<ServiceCore> {
  const host = await Host.open({
    store: options.store,
    drivers: options.drivers,
    autostart: options.autostart ?? false,
    ...(options.log === undefined ? {} : { log: options.log }),
    ...(options.managedSaveDir === undefined ? {} : { managedSaveDir: options.managedSaveDir }),
  });
  const metrics = new Metrics();
  const shutdown = new AbortController();
  const hub = new EventHub(options.store, (uuid) => host.nameOfUuid(uuid));
  const definitionReader = new DefinitionReaderPool();
  const bodies = new BodyBudget(
    options.requestBodiesMaxBytes ??
      Math.max(REQUEST_BODIES_MAX_BYTES_DEFAULT, options.xmlMaxBytes),
  );
  const largeDefinitions = new BodyBudget(
    LARGE_DEFINITIONS_MAX,
    LARGE_DEFINITION_WAIT_MS,
    "{held} large definitions are being defined; {wanted} more would pass the limit of {max}",
  );
  const consoles = new SerialConsoles(shutdown.signal);
  const guests = new HostGuests({
    host,
    policy: options.guests ?? GUESTS_POLICY_DEFAULT,
    ...(options.guestsLog === undefined ? {} : { log: options.guestsLog }),
  });
  const environment: ApiEnvironment = {
    host,
    store: options.store,
    metrics,
    hub,
    xmlMaxBytes: options.xmlMaxBytes,
    bodyMaxBytes: BODY_MAX_BYTES,
    bodies,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    events: { ...EVENT_STREAM_DEFAULTS, ...options.events },
    hostname: options.hostname ?? (() => Deno.hostname()),
    nodeInfo: options.nodeInfo ?? readNodeInfo,
    shutdownSignal: shutdown.signal,
    consoles,
    definitionReader,
    largeDefinitions,
    guests,
    ...(options.onRequest === undefined ? {} : { onRequest: options.onRequest }),
    ...(options.checkAnswers ? { checkAnswers: true } : {}),
  };
  const api = createApi(environment);
  return {
    host,
    store: options.store,
    api,
    consoles,
    metrics,
    hub,
    bodies,
    largeDefinitions,
    attachStorage(storage) {
      environment.storage = storage;
    },
    attachSecrets(secrets) {
      environment.secrets = secrets;
    },
    attachNetworks(networks) {
      environment.networks = networks;
    },
    attachFleet(fleet) {
      environment.fleet = fleet;
    },
    guests,
    endStreams() {
      shutdown.abort();
    },
    definitionReader,
    async close() {
      shutdown.abort();
      await guests.close();
      definitionReader.close();
      await hub.close();
      await host.close();
      await options.store.close();
    },
  };
}
