/**
 * Connection URIs → an {@linkcode EvirtClient}:
 *
 * | URI | how |
 * | --- | --- |
 * | `test:///default` | in process: a fresh test hypervisor per invocation (no service, as virsh) |
 * | `evirt:///system` | the service's unix socket `$EVIRT_RUNTIME_DIR/evirt.sock`; with `-r` `evirt-ro.sock` |
 * | `lxc:///system` | the same socket, seeing only the LXC driver's domains (containers), as libvirt's per-driver connections do |
 * | `http(s)://host:port` | TCP; the bearer token comes from `--token`, else `EVIRT_TOKEN` |
 *
 * Over TCP the token decides the role (the service maps tokens to roles); `-r` cannot raise or
 * lower it there.
 *
 * @module
 */

import type { Role } from "../api/api_context.ts";
import type { Api } from "../api/app.ts";
import {
  type DirectTransport,
  EvirtClient,
  httpTransport,
  type Transport,
  unixTransport,
} from "../client/client.ts";
import { loadConfig } from "../config/config.ts";
import { DRIVER_HEADER, DRIVER_URIS } from "../model/connection_driver.ts";
import { ErrorCode, VirtError } from "../model/errors.ts";

/** An open connection. */
export interface Connection {
  /** The URI it was opened with. */
  uri: string;
  client: EvirtClient;
  /** Releases what the connection holds (the in-process host, the socket client). */
  close(): Promise<void>;
}

/** Options of {@linkcode openConnection}. */
export interface ConnectionOptions {
  /** A URI that `validateUri` accepted. */
  uri: string;
  /** `-r`: the read-only socket (or role, in process). */
  readOnly: boolean;
  /** `--token`, which wins over `EVIRT_TOKEN`. */
  token?: string;
  /** The environment (runtime directory, token, XML limit). */
  env: Record<string, string | undefined>;
  /** The user id, for the default runtime directory. */
  uid: number;
  /** Largest domain XML document, in bytes (the in-process API's limit). */
  xmlMaxBytes: number;
  /** Where warnings go (stderr). */
  warn: (message: string) => void;
}

/**
 * Opens the connection a URI names.
 *
 * @throws {VirtError} Code 5 (no connect) when the service's socket is missing; a
 *   `ConfigError` when the environment is invalid.
 *
 * @example
 * ```ts ignore
 * const connection = await openConnection({ uri: "test:///default", readOnly: false,
 *   env: Deno.env.toObject(), uid: 1000, xmlMaxBytes: 4194304, warn: console.error });
 * console.log(await connection.client.listDomains());
 * await connection.close();
 * ```
 */
export async function openConnection(options: ConnectionOptions): Promise<Connection> {
  if (options.uri === "test:///default") {
    // Loaded only here: the in-process hypervisor brings the service, the XML reader and the
    // test driver, which a client of a running service never needs.
    const { openTestHypervisor, settle } = await import("../service/test_hypervisor.ts");
    const core = await openTestHypervisor({ xmlMaxBytes: options.xmlMaxBytes });
    const direct = inProcessTransport(core.api, options.readOnly ? "read-only" : "read-write");
    const transport: Transport = async (request) => {
      await settle(core);
      return await direct(request);
    };
    return { uri: options.uri, client: new EvirtClient(transport), close: () => core.close() };
  }
  if (options.uri === "evirt:///system") return await openSocket(options);
  const driver = DRIVER_URIS.get(options.uri);
  if (driver !== undefined) return await openSocket(options, driver);
  return openHttp(options);
}

async function openSocket(options: ConnectionOptions, driver?: string): Promise<Connection> {
  const { config } = loadConfig(options.env, { uid: options.uid });
  const path = options.readOnly ? config.readOnlySocketPath : config.socketPath;
  try {
    const info = await Deno.stat(path);
    if (!info.isSocket) {
      throw new VirtError(
        ErrorCode.NO_CONNECT,
        `Failed to connect socket to '${path}': not a socket`,
      );
    }
  } catch (error) {
    if (error instanceof VirtError) throw error;
    const reason = error instanceof Deno.errors.NotFound
      ? "No such file or directory"
      : (error as Error).message;
    throw new VirtError(ErrorCode.NO_CONNECT, `Failed to connect socket to '${path}': ${reason}`, {
      cause: error,
    });
  }
  const transport = unixTransport(path);
  return {
    uri: options.uri,
    client: new EvirtClient(driver === undefined ? transport : withDriver(transport, driver)),
    close: () => Promise.resolve(),
  };
}

/** Names the connection's driver in every request, so the service shows only its domains. */
function withDriver(transport: DirectTransport, driver: string): DirectTransport {
  return {
    direct: (request) =>
      transport.direct({ ...request, headers: { ...request.headers, [DRIVER_HEADER]: driver } }),
  };
}

/**
 * A transport that hands requests to an API in this process. As with `fetch`, aborting a
 * request's signal ends its response body (so a followed event stream stops and the service
 * forgets the subscriber).
 *
 * @param api The API.
 * @param role The caller's role.
 *
 * @example
 * ```ts ignore
 * const client = new EvirtClient(inProcessTransport(core.api, "read-only"));
 * ```
 */
export function inProcessTransport(api: Api, role: Role): Transport {
  return async (request) => {
    const response = await api.handle(request, role);
    if (response.body === null) return response;
    return new Response(abortableBody(response.body, request.signal), {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
}

function abortableBody(
  body: ReadableStream<Uint8Array>,
  signal: AbortSignal,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const abort = () => {
        controller.error(signal.reason);
        reader.cancel(signal.reason).catch(() => {});
      };
      if (signal.aborted) abort();
      else signal.addEventListener("abort", abort, { once: true });
    },
    async pull(controller) {
      const { value, done } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

function openHttp(options: ConnectionOptions): Connection {
  const token = options.token ?? nonEmpty(options.env.EVIRT_TOKEN);
  const url = new URL(options.uri);
  if (token !== undefined && url.protocol === "http:" && !isLoopback(url.hostname)) {
    options.warn(`sending the token unencrypted over http to ${url.host}; prefer https`);
  }
  if (options.readOnly) {
    options.warn("-r has no effect over TCP: the token's role decides what is allowed");
  }
  return {
    uri: options.uri,
    client: new EvirtClient(httpTransport(token), options.uri),
    close: () => Promise.resolve(),
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}

function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || hostname === "::1" ||
    /^127\.\d+\.\d+\.\d+$/.test(hostname);
}
