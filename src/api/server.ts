/**
 * Binds the API to its listeners, as libvirt does: a read-write unix socket (mode 0660, no
 * token — access is the file permission), a read-only unix socket (mode 0666), and optionally TCP
 * with bearer tokens of either role.
 *
 * @module
 */

import { createHash, timingSafeEqual } from "node:crypto";
import { ErrorCode, VirtError } from "../model/errors.ts";
import type { Role } from "./api_context.ts";
import type { Api } from "./app.ts";
import { errorResponse } from "./http_errors.ts";

/** A bearer token and the role it grants. */
export interface ApiToken {
  role: Role;
  token: string;
}

/** Where to listen. */
export interface ListenOptions {
  /** The read-write unix socket. */
  socketPath: string;
  /** The read-only unix socket. */
  readOnlySocketPath: string;
  /** TCP listener, with the tokens it accepts. */
  tcp?: { hostname: string; port: number; tokens: ApiToken[] };
  /** Told each address once it listens. */
  onListen?: (address: string) => void;
}

/** The running listeners. */
export interface ApiServer {
  /** The TCP port actually bound (when `tcp.port` was 0), if TCP is on. */
  tcpPort?: number;
  /** Stops accepting, waits for open responses to end, removes the socket files. */
  shutdown(): Promise<void>;
}

/** How long a connect to an existing socket may take when checking whether it is stale. */
const STALE_CHECK_TIMEOUT_MS = 1000;

/**
 * Starts the listeners. A socket file left by a crashed service is removed only when a connect
 * to it is refused; a socket something still answers on is an error (another service uses it).
 */
export async function serveApi(api: Api, options: ListenOptions): Promise<ApiServer> {
  const servers: Deno.HttpServer[] = [];
  const sockets = [
    { path: options.socketPath, role: "read-write" as Role, mode: 0o660 },
    { path: options.readOnlySocketPath, role: "read-only" as Role, mode: 0o666 },
  ];
  try {
    for (const socket of sockets) {
      await removeStaleSocket(socket.path);
      const server = Deno.serve(
        { path: socket.path, transport: "unix", onListen: () => {} },
        (request) => api.handle(request, socket.role),
      );
      servers.push(server);
      Deno.chmodSync(socket.path, socket.mode);
      options.onListen?.(`unix:${socket.path} (${socket.role})`);
    }
    let tcpPort: number | undefined;
    if (options.tcp !== undefined) {
      const { tokens } = options.tcp;
      const server = Deno.serve(
        { hostname: options.tcp.hostname, port: options.tcp.port, onListen: () => {} },
        (request) => {
          const role = roleOfBearer(request.headers.get("authorization"), tokens);
          if (role === undefined) {
            return errorResponse(
              new VirtError(ErrorCode.AUTH_FAILED, "a valid bearer token is required"),
              { "www-authenticate": 'Bearer realm="evirt"' },
            );
          }
          return api.handle(request, role);
        },
      );
      servers.push(server);
      const address = server.addr as Deno.NetAddr;
      tcpPort = address.port;
      options.onListen?.(`http://${address.hostname}:${address.port} (bearer tokens)`);
    }
    return {
      ...(tcpPort === undefined ? {} : { tcpPort }),
      async shutdown() {
        await Promise.all(servers.map((server) => server.shutdown()));
        for (const socket of sockets) await removeIfPresent(socket.path);
      },
    };
  } catch (error) {
    await Promise.all(servers.map((server) => server.shutdown()));
    throw error;
  }
}

/**
 * The role a bearer token grants, or undefined. Every configured token is compared in constant
 * time (SHA-256 digests of equal length), so timing reveals neither a token nor which one matched.
 */
export function roleOfBearer(header: string | null, tokens: ApiToken[]): Role | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  if (match === null) return undefined;
  const offered = digest(match[1]);
  let role: Role | undefined;
  for (const token of tokens) {
    if (timingSafeEqual(offered, digest(token.token)) && role === undefined) role = token.role;
  }
  return role;
}

function digest(text: string): Uint8Array {
  return new Uint8Array(createHash("sha256").update(text).digest());
}

async function removeStaleSocket(path: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }
  if (!info.isSocket) {
    throw new VirtError(
      ErrorCode.OPERATION_FAILED,
      `'${path}' exists and is not a socket; refusing to replace it`,
    );
  }
  let connection: Deno.UnixConn | undefined;
  try {
    connection = await Promise.race([
      Deno.connect({ transport: "unix", path }),
      new Promise<never>((_resolve, reject) =>
        setTimeout(() => reject(new Error("timeout")), STALE_CHECK_TIMEOUT_MS)
      ),
    ]);
  } catch (error) {
    if (error instanceof Deno.errors.ConnectionRefused || error instanceof Deno.errors.NotFound) {
      await removeIfPresent(path);
      return;
    }
    throw new VirtError(
      ErrorCode.OPERATION_FAILED,
      `cannot check socket '${path}': ${(error as Error).message}`,
    );
  }
  connection.close();
  throw new VirtError(
    ErrorCode.OPERATION_FAILED,
    `another service is listening on '${path}'; stop it or use another EVIRT_RUNTIME_DIR`,
  );
}

async function removeIfPresent(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}
