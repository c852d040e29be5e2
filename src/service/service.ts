/**
 * Assembles the service: state directory → event log (its lock first) → drivers → host actor
 * (replay, reconcile, autostart) → API → listeners. Connections are accepted only once replay and
 * reconcile are done.
 *
 * @module
 */

import type { Driver } from "../../actors/driver_protocol.ts";
import { Host } from "../../actors/host.ts";
import { TestDriver } from "../../drivers/test/test_driver.ts";
import type { EventStreamSettings } from "../projections/event_hub.ts";
import { type Api, createApi } from "../api/app.ts";
import { DefinitionReaderPool } from "../api/definition_reader.ts";
import { EventHub } from "../projections/event_hub.ts";
import { Metrics } from "../api/metrics.ts";
import { type ApiServer, type ApiToken, serveApi } from "../api/server.ts";
import { BodyBudget } from "../api/body_budget.ts";
import {
  type Config,
  ConfigError,
  parseTokens,
  REQUEST_BODIES_MAX_BYTES_DEFAULT,
} from "../config/config.ts";
import type { EventStore } from "../log/event_store.ts";
import { openSqliteStore } from "../log/sqlite_store.ts";
import { DOMAIN_FACT_TYPES } from "../model/facts.ts";
import { readNodeInfo } from "./node_info.ts";
import { RPC_CONNECTIONS_MAX, type RpcServer, serveRpc } from "../rpc/server.ts";
import { descriptorLimit } from "../api/connection_limits.ts";
import type { SharedService } from "../rpc/rpc_target.ts";
import { libvirtSocketPaths } from "../rpc/socket_paths.ts";

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
  /** The worker threads that read large definitions (closed with the core). */
  definitionReader: DefinitionReaderPool;
  /** The bound on request body bytes in progress (exposed for diagnostics and tests). */
  bodies: BodyBudget;
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
}

/** Opens the host over a store and builds the API on it. */
export async function createServiceCore(options: ServiceCoreOptions): Promise<ServiceCore> {
  const host = await Host.open({
    store: options.store,
    drivers: options.drivers,
    autostart: options.autostart ?? false,
    ...(options.log === undefined ? {} : { log: options.log }),
  });
  const metrics = new Metrics();
  const shutdown = new AbortController();
  const hub = new EventHub(options.store, (uuid) => host.nameOfUuid(uuid));
  const definitionReader = new DefinitionReaderPool();
  const bodies = new BodyBudget(
    options.requestBodiesMaxBytes ??
      Math.max(REQUEST_BODIES_MAX_BYTES_DEFAULT, options.xmlMaxBytes),
  );
  const api = createApi({
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
    definitionReader,
  });
  return {
    host,
    store: options.store,
    api,
    metrics,
    hub,
    bodies,
    endStreams() {
      shutdown.abort();
    },
    definitionReader,
    async close() {
      shutdown.abort();
      definitionReader.close();
      await hub.close();
      await host.close();
      await options.store.close();
    },
  };
}

/** A running service. */
export interface RunningService extends ServiceCore {
  server: ApiServer;
  /** The libvirt-protocol listeners (`libvirt-sock`, `libvirt-sock-ro`). */
  rpc: RpcServer;
  /** Stops listening, then closes the core. Running VMs keep running. */
  stop(): Promise<void>;
}

/** Options of {@linkcode startService}. */
export interface StartServiceOptions {
  /** Extra drivers (e.g. QEMU); the test hypervisor is always on. */
  drivers?: Driver[];
  events?: Partial<EventStreamSettings>;
  log?: (message: string) => void;
  /** Opens a private `test:///default` hypervisor per libvirt-protocol connection. */
  openTestHypervisor?: SharedService["openTestHypervisor"];
}

/**
 * Starts the whole service from a configuration.
 *
 * @throws {VirtError} When the state directory is locked by another service, a socket is in use,
 *   or the tokens file is invalid.
 */
export async function startService(
  config: Config,
  options: StartServiceOptions = {},
): Promise<RunningService> {
  const log = options.log ?? ((message: string) => console.error(`evirt: ${message}`));
  await Deno.mkdir(config.stateDir, { recursive: true, mode: 0o700 });
  const store = await openSqliteStore(config.stateDir, {
    retention: config.retention,
    factTypes: DOMAIN_FACT_TYPES,
    runtimeRecords: runtimeRecords(config.runtimeDir),
  });
  let core: ServiceCore | undefined;
  try {
    const tokens = config.tokensFile === null ? [] : await readTokens(config.tokensFile);
    await Deno.mkdir(config.runtimeDir, { recursive: true, mode: 0o755 });
    core = await createServiceCore({
      store,
      drivers: [new TestDriver(), ...(options.drivers ?? [])],
      xmlMaxBytes: config.xmlMaxBytes,
      requestBodiesMaxBytes: config.requestBodiesMaxBytes,
      autostart: await firstStartSinceBoot(config.runtimeDir),
      ...(options.events === undefined ? {} : { events: options.events }),
      log,
    });
    // A reader thread's start stalls the loop: pay for it before any caller is accepted.
    core.definitionReader.prestart();
    // The HTTP pools are held under half the descriptor limit and each libvirt-protocol socket
    // under an eighth, so a flood of one listener cannot leave the others without descriptors.
    const descriptorsMax = descriptorLimit();
    const server = await serveApi(core.api, {
      ...(descriptorsMax === undefined ? {} : { descriptorsMax: Math.floor(descriptorsMax / 2) }),
      socketPath: config.socketPath,
      readOnlySocketPath: config.readOnlySocketPath,
      ...(config.listen === null ? {} : { tcp: { ...config.listen, tokens } }),
      onListen: (address) => log(`listening on ${address}`),
      limits: config.connections,
      log,
    });
    core.metrics.attachConnections(server.connections);
    const rpc = await serveRpc({
      ...libvirtSocketPaths(Deno.env.toObject(), config.runtimeDir),
      connectionsMax: descriptorsMax === undefined
        ? RPC_CONNECTIONS_MAX
        : Math.max(1, Math.min(RPC_CONNECTIONS_MAX, Math.floor(descriptorsMax / 8))),
      service: {
        host: core.host,
        hub: core.hub,
        events: { ...EVENT_STREAM_DEFAULTS, ...options.events },
        xmlMaxBytes: config.xmlMaxBytes,
        hostname: () => Deno.hostname(),
        nodeInfo: readNodeInfo,
        ...(options.openTestHypervisor === undefined
          ? {}
          : { openTestHypervisor: options.openTestHypervisor }),
      },
      log,
      onListen: (address) => log(`listening on ${address}`),
    }).catch(async (error) => {
      await server.shutdown();
      throw error;
    });
    const running = core;
    return {
      ...running,
      server,
      rpc,
      async stop() {
        // Event streams never end by themselves: end them first, or the listeners' shutdown
        // would wait for them forever.
        running.endStreams();
        await rpc.shutdown();
        await server.shutdown();
        await running.close();
      },
    };
  } catch (error) {
    if (core !== undefined) await core.close();
    else await store.close();
    throw error;
  }
}

/** Runtime records named at most, when a refused start lists them. */
const RUNTIME_RECORDS_MAX = 100;

/**
 * The runtime folders of QEMU instances (`$EVIRT_RUNTIME_DIR/qemu/*`): while one exists, an empty
 * or missing log must not start as a fresh one (see `open_checks.ts`).
 */
function runtimeRecords(runtimeDir: string): string[] {
  const records: string[] = [];
  try {
    for (const entry of Deno.readDirSync(`${runtimeDir}/qemu`)) {
      records.push(`${runtimeDir}/qemu/${entry.name}`);
      if (records.length >= RUNTIME_RECORDS_MAX) break;
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return records.sort();
}

/**
 * Reads the tokens file, refusing one that group or others may read: a token is a password, and
 * a read-write one is root-equivalent.
 */
async function readTokens(path: string): Promise<ApiToken[]> {
  const file = await Deno.open(path, { read: true });
  try {
    // The mode is checked on the open file, so the file read is the file checked.
    const mode = (await file.stat()).mode;
    if (mode !== null && (mode & 0o077) !== 0) {
      throw new ConfigError(
        "EVIRT_TOKENS_FILE",
        `'${path}' has mode ${(mode & 0o777).toString(8).padStart(4, "0")}: group and others ` +
          "must have no access to a tokens file (chmod 600 it)",
      );
    }
    const bytes = new Uint8Array(TOKENS_FILE_MAX_BYTES + 1);
    let length = 0;
    for (;;) {
      const count = await file.read(bytes.subarray(length));
      if (count === null) break;
      length += count;
      if (length > TOKENS_FILE_MAX_BYTES) {
        throw new ConfigError(
          "EVIRT_TOKENS_FILE",
          `'${path}' is larger than ${TOKENS_FILE_MAX_BYTES} bytes`,
        );
      }
    }
    return parseTokens(new TextDecoder().decode(bytes.subarray(0, length)));
  } finally {
    file.close();
  }
}

/** Largest tokens file read, in bytes. */
const TOKENS_FILE_MAX_BYTES = 1024 * 1024;

/**
 * Autostart runs once per host boot, as libvirt's does: the runtime directory is on a tmpfs
 * cleared at boot, so a marker there says whether this boot already autostarted.
 */
async function firstStartSinceBoot(runtimeDir: string): Promise<boolean> {
  const marker = `${runtimeDir}/autostarted`;
  try {
    await Deno.writeTextFile(marker, `${new Date().toISOString()}\n`, { createNew: true });
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return false;
    throw error;
  }
}
