/**
 * Assembles the service: state directory → event log (its lock first) → drivers → host actor
 * (replay, reconcile, autostart) → API → listeners. Connections are accepted only once replay and
 * reconcile are done.
 *
 * @module
 */

import type { Driver } from "../actors/driver_protocol.ts";
import { Host } from "../actors/host.ts";
import { TestDriver } from "../drivers/test/test_driver.ts";
import type { EventStreamSettings } from "./api/api_context.ts";
import { type Api, createApi } from "./api/app.ts";
import { EventHub } from "./api/event_hub.ts";
import { Metrics } from "./api/metrics.ts";
import { type ApiServer, type ApiToken, serveApi } from "./api/server.ts";
import { type Config, parseTokens } from "./config.ts";
import type { EventStore } from "./log/event_store.ts";
import { openSqliteStore } from "./log/sqlite_store.ts";
import { readNodeInfo } from "./node_info.ts";
import { type RpcServer, serveRpc } from "./rpc/server.ts";
import type { SharedService } from "./rpc/rpc_target.ts";
import { libvirtSocketPaths } from "./rpc/socket_paths.ts";

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
  const api = createApi({
    host,
    store: options.store,
    metrics,
    hub,
    xmlMaxBytes: options.xmlMaxBytes,
    bodyMaxBytes: BODY_MAX_BYTES,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    events: { ...EVENT_STREAM_DEFAULTS, ...options.events },
    hostname: options.hostname ?? (() => Deno.hostname()),
    nodeInfo: options.nodeInfo ?? readNodeInfo,
    shutdownSignal: shutdown.signal,
  });
  return {
    host,
    store: options.store,
    api,
    metrics,
    hub,
    endStreams() {
      shutdown.abort();
    },
    async close() {
      shutdown.abort();
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
  const store = await openSqliteStore(config.stateDir, { retention: config.retention });
  let core: ServiceCore | undefined;
  try {
    const tokens = config.tokensFile === null ? [] : await readTokens(config.tokensFile);
    await Deno.mkdir(config.runtimeDir, { recursive: true, mode: 0o755 });
    core = await createServiceCore({
      store,
      drivers: [new TestDriver(), ...(options.drivers ?? [])],
      xmlMaxBytes: config.xmlMaxBytes,
      autostart: await firstStartSinceBoot(config.runtimeDir),
      ...(options.events === undefined ? {} : { events: options.events }),
      log,
    });
    const server = await serveApi(core.api, {
      socketPath: config.socketPath,
      readOnlySocketPath: config.readOnlySocketPath,
      ...(config.listen === null ? {} : { tcp: { ...config.listen, tokens } }),
      onListen: (address) => log(`listening on ${address}`),
    });
    const rpc = await serveRpc({
      ...libvirtSocketPaths(Deno.env.toObject(), config.runtimeDir),
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

async function readTokens(path: string): Promise<ApiToken[]> {
  const text = await Deno.readTextFile(path);
  return parseTokens(text);
}

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
