/**
 * Assembles the service: state directory → event log (its lock first) → drivers → host actor
 * (replay, reconcile, autostart) → API → listeners. Connections are accepted only once replay and
 * reconcile are done.
 *
 * @module
 */

import type { Driver } from "../actors/driver_protocol.ts";
import { TestDriver } from "../drivers/test/test_driver.ts";
import type { EventStreamSettings } from "./api/api_context.ts";
import { type ApiServer, type ApiToken, serveApi } from "./api/server.ts";
import { type Config, parseTokens } from "./config.ts";
import { openSqliteStore } from "./log/sqlite_store.ts";
import { createServiceCore, type ServiceCore } from "./service_core.ts";

export {
  BODY_MAX_BYTES,
  createServiceCore,
  EVENT_STREAM_DEFAULTS,
  REQUEST_TIMEOUT_MS,
  type ServiceCore,
  type ServiceCoreOptions,
} from "./service_core.ts";

/** A running service. */
export interface RunningService extends ServiceCore {
  server: ApiServer;
  /** Stops listening, then closes the core. Running VMs keep running. */
  stop(): Promise<void>;
}

/** Options of {@linkcode startService}. */
export interface StartServiceOptions {
  /** Extra drivers (e.g. QEMU); the test hypervisor is always on. */
  drivers?: Driver[];
  events?: Partial<EventStreamSettings>;
  log?: (message: string) => void;
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
    const running = core;
    return {
      ...running,
      server,
      async stop() {
        // Event streams never end by themselves: end them first, or the listeners' shutdown
        // would wait for them forever.
        running.endStreams();
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
