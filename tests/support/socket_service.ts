/**
 * The service core (host + API on the test hypervisor) behind real unix sockets in a temporary
 * folder, optionally with a TCP listener: for tests and benchmarks that need real HTTP without
 * a child process.
 *
 * @module
 */

import { TestDriver } from "../../drivers/test/test_driver.ts";
import type { EventStreamSettings } from "../../src/api/api_context.ts";
import type { ConnectionLimits } from "../../src/api/connection_limits.ts";
import { type ApiServer, type ApiToken, serveApi } from "../../src/api/server.ts";
import { EvirtClient, unixTransport } from "../../src/client/client.ts";
import type { EventStore } from "../../src/log/event_store.ts";
import { createMemoryStore } from "../../src/log/memory_store.ts";
import { openSqliteStore } from "../../src/log/sqlite_store.ts";
import { createServiceCore, type ServiceCore } from "../../src/service/service.ts";

/** Largest domain definition the test services accept, in bytes. */
const XML_MAX_BYTES = 65536;

/** A running socket service. */
export interface SocketService {
  dir: string;
  core: ServiceCore;
  store: EventStore;
  server: ApiServer;
  socketPath: string;
  readOnlySocketPath: string;
  /** A client on the read-write socket. */
  client: EvirtClient;
  /** A client on the read-only socket. */
  readOnly: EvirtClient;
  /** Stops the listeners and the core, and removes the folder. */
  stop(): Promise<void>;
}

/** Options of {@linkcode startSocketService}. */
export interface SocketServiceOptions {
  /** The log: in memory (default) or SQLite in the folder. */
  log?: "memory" | "sqlite";
  /** Also listen on TCP (an ephemeral loopback port) with these tokens. */
  tokens?: ApiToken[];
  /** Event stream settings. */
  events?: Partial<EventStreamSettings>;
  /** Connection limits and timeouts of the listeners. */
  limits?: ConnectionLimits;
  /** Request body bytes all requests may hold at once. */
  requestBodiesMaxBytes?: number;
  /** Where the host and the listeners write their log lines. Default: nowhere. */
  logLine?: (message: string) => void;
}

/** Starts a socket service in a new temporary folder. */
export async function startSocketService(
  options: SocketServiceOptions = {},
): Promise<SocketService> {
  const dir = await Deno.makeTempDir({ prefix: "evirt-socket-service-" });
  const store = options.log === "sqlite" ? await openSqliteStore(dir) : createMemoryStore();
  const core = await createServiceCore({
    store,
    drivers: [new TestDriver()],
    xmlMaxBytes: XML_MAX_BYTES,
    // Every JSON answer is checked against the schema the OpenAPI document names for it.
    checkAnswers: true,
    ...(options.events === undefined ? {} : { events: options.events }),
    ...(options.requestBodiesMaxBytes === undefined
      ? {}
      : { requestBodiesMaxBytes: options.requestBodiesMaxBytes }),
    log: options.logLine ?? (() => {}),
  });
  const socketPath = `${dir}/evirt.sock`;
  const readOnlySocketPath = `${dir}/evirt-ro.sock`;
  const server = await serveApi(core.api, {
    socketPath,
    readOnlySocketPath,
    ...(options.limits === undefined ? {} : { limits: options.limits }),
    log: options.logLine ?? (() => {}),
    ...(options.tokens === undefined
      ? {}
      : { tcp: { hostname: "127.0.0.1", port: 0, tokens: options.tokens } }),
  });
  core.metrics.attachConnections(server.connections);
  return {
    dir,
    core,
    store,
    server,
    socketPath,
    readOnlySocketPath,
    client: new EvirtClient(unixTransport(socketPath)),
    readOnly: new EvirtClient(unixTransport(readOnlySocketPath)),
    async stop() {
      await server.shutdown();
      await core.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}
