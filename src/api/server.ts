/**
 * Binds the API to its listeners, as libvirt does: a read-write unix socket (mode 0660, no
 * token — access is the file permission), a read-only unix socket (mode 0666), and optionally TCP
 * with bearer tokens of either role.
 *
 * @module
 */

import { timingSafeEqual } from "node:crypto";
import { ErrorCode, VirtError } from "../model/errors.ts";
import { acceptLoop } from "../net/accept_loop.ts";
import { removeIfPresent, removeStaleSocket } from "../net/stale_socket.ts";
import type { Role } from "./api_context.ts";
import type { Api } from "./app.ts";
import {
  CONNECTION_LIMITS_DEFAULT,
  ConnectionGate,
  type ConnectionLimits,
  type ConnectionPool,
  type ConnectionSlot,
  descriptorLimit,
  poolCapacities,
} from "./connection_limits.ts";
import { errorResponse } from "./http_errors.ts";
import { answerAndClose, type ConnectionHandler, serveConnection } from "./http1_connection.ts";
import { authorizeCookie, handleWebConsole, isWebConsolePath } from "./web/web_console.ts";
import { tokenDigest, WebSessions } from "./web/web_sessions.ts";

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
  /** Connection limits and timeouts. Default: {@linkcode CONNECTION_LIMITS_DEFAULT}. */
  limits?: ConnectionLimits;
  /** The descriptor limit the pools are held under. Default: this process's soft limit. */
  descriptorsMax?: number;
  /** Where accept failures are reported (at most one line per second). */
  log?: (message: string) => void;
}

/** The running listeners. */
export interface ApiServer {
  /** The TCP port actually bound (when `tcp.port` was 0), if TCP is on. */
  tcpPort?: number;
  /** The connection pools (held, capacity, refused), for metrics and tests. */
  connections: ConnectionGate;
  /** Replaces the tokens TCP accepts (a configuration reload); later requests use the new ones. */
  replaceTokens(tokens: ApiToken[]): void;
  /** Stops accepting, waits for open responses to end, removes the socket files. */
  shutdown(): Promise<void>;
}

/** Interval between two reports of failing accepts, in ms. */
const ACCEPT_REPORT_INTERVAL_MS = 1000;
/** How long shutdown waits for busy connections to finish their answers, in ms. */
const SHUTDOWN_GRACE_MS = 10_000;
/** How long a refusal of a connection over its pool's bound may take to write, in ms. */
const REFUSAL_WRITE_TIMEOUT_MS = 250;

/**
 * Starts the listeners. A socket file left by a crashed service is removed only when a connect
 * to it is refused; a socket something still answers on is an error (another service uses it).
 *
 * Each listener runs its own accept loop: a connection over its pool's bound is answered 503
 * (code 87) and closed at once; a failed accept (such as running out of descriptors) pauses the
 * loop briefly and is reported, never thrown.
 */
export async function serveApi(api: Api, options: ListenOptions): Promise<ApiServer> {
  const limits = options.limits ?? CONNECTION_LIMITS_DEFAULT;
  const gate = new ConnectionGate(
    poolCapacities(limits, options.descriptorsMax ?? descriptorLimit()),
  );
  const stopping = new AbortController();
  const listeners: Deno.Listener[] = [];
  const open = new Set<{ conn: Deno.Conn; done: Promise<void> }>();
  const loops: Promise<void>[] = [];
  const log = options.log ?? ((message: string) => console.error(`evirt: ${message}`));
  const loopOptions = (name: string) => ({
    name,
    log,
    reportIntervalMs: ACCEPT_REPORT_INTERVAL_MS,
  });
  const serve = (conn: Deno.Conn, slot: ConnectionSlot, handler: ConnectionHandler) => {
    const entry = {
      conn,
      done: serveConnection(conn, handler, {
        limits,
        origin: "http://evirt",
        stopping: stopping.signal,
      }).finally(() => {
        slot.release();
        open.delete(entry);
      }),
    };
    open.add(entry);
  };
  const sockets = [
    { path: options.socketPath, role: "read-write" as Role, mode: 0o660 },
    { path: options.readOnlySocketPath, role: "read-only" as Role, mode: 0o666 },
  ];
  try {
    for (const socket of sockets) {
      await removeStaleSocket(socket.path, "stop it or use another EVIRT_RUNTIME_DIR");
      const listener = Deno.listen({ transport: "unix", path: socket.path });
      listeners.push(listener);
      Deno.chmodSync(socket.path, socket.mode);
      // The web console runs as the socket's role, as any other caller on it.
      const handler: ConnectionHandler = (request, connection) =>
        isWebConsolePath(new URL(request.url).pathname)
          ? handleWebConsole(request, { kind: "unix", role: socket.role })
          : api.handle(request, socket.role, connection);
      loops.push(acceptLoop(listener, loopOptions(`unix:${socket.path}`), (conn) => {
        const slot = gate.acquire(socket.role);
        if (slot === undefined) return refuse(conn, socket.role, gate);
        return serve(conn, slot, handler);
      }));
      options.onListen?.(`unix:${socket.path} (${socket.role})`);
    }
    let tcpPort: number | undefined;
    let tokens: ApiToken[] = [];
    const sessions = new WebSessions(() => tokens);
    if (options.tcp !== undefined) {
      tokens = options.tcp.tokens;
      const listener = Deno.listen({ hostname: options.tcp.hostname, port: options.tcp.port });
      listeners.push(listener);
      const address = listener.addr as Deno.NetAddr;
      tcpPort = address.port;
      loops.push(acceptLoop(listener, loopOptions(`tcp:${address.port}`), (conn) => {
        // Event stream chunks are small writes that must not wait for the previous one's ack.
        (conn as Deno.TcpConn).setNoDelay(true);
        const first = gate.acquire("unauthenticated");
        if (first === undefined) return refuse(conn, "unauthenticated", gate);
        let slot = first;
        const handler: ConnectionHandler = (request, connection) => {
          if (isWebConsolePath(new URL(request.url).pathname)) {
            return handleWebConsole(request, { kind: "tcp", sessions });
          }
          const bearer = request.headers.get("authorization");
          // A browser's session cookie stands for a token when no bearer header is sent.
          const cookie = bearer === null ? authorizeCookie(request, sessions) : undefined;
          if (cookie !== undefined && "refusal" in cookie) return Promise.resolve(cookie.refusal);
          const role = cookie?.role ?? roleOfBearer(bearer, tokens);
          if (role === undefined) {
            return Promise.resolve(errorResponse(
              new VirtError(ErrorCode.AUTH_FAILED, "a valid bearer token is required"),
              { "www-authenticate": 'Bearer realm="evirt"' },
            ));
          }
          if (slot.pool !== role) {
            // A token moves the connection into its role's pool, so unauthenticated and
            // read-only connections never take read-write slots.
            const next = gate.acquire(role);
            if (next === undefined) {
              return Promise.resolve(errorResponse(poolFull(role, gate), { connection: "close" }));
            }
            slot.release();
            slot = next;
          }
          return api.handle(request, role, connection);
        };
        return serve(conn, { pool: "unauthenticated", release: () => slot.release() }, handler);
      }));
      options.onListen?.(`http://${address.hostname}:${address.port} (bearer tokens)`);
    }
    return {
      ...(tcpPort === undefined ? {} : { tcpPort }),
      connections: gate,
      replaceTokens(next) {
        tokens = next;
      },
      async shutdown() {
        await stopAll();
        for (const socket of sockets) await removeIfPresent(socket.path);
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }

  async function stopAll(): Promise<void> {
    for (const listener of listeners) {
      try {
        listener.close();
      } catch {
        // already closed
      }
    }
    stopping.abort();
    await Promise.all(loops);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<void>((resolve) => timer = setTimeout(resolve, SHUTDOWN_GRACE_MS));
    await Promise.race([Promise.all([...open].map((entry) => entry.done)), grace]);
    clearTimeout(timer);
    for (const entry of open) {
      try {
        entry.conn.close();
      } catch {
        // already closed
      }
    }
    await Promise.all([...open].map((entry) => entry.done));
  }
}

function poolFull(pool: ConnectionPool, gate: ConnectionGate): VirtError {
  const who = pool === "unauthenticated" ? "unauthenticated callers" : `${pool} callers`;
  return new VirtError(
    ErrorCode.RESOURCE_BUSY,
    `too many connections of ${who} (limit ${gate.capacity[pool]}); try again later`,
  );
}

/** Answers a connection over its pool's bound with 503 (code 87) and closes it. */
async function refuse(conn: Deno.Conn, pool: ConnectionPool, gate: ConnectionGate): Promise<void> {
  await answerAndClose(conn, poolFull(pool, gate), undefined, REFUSAL_WRITE_TIMEOUT_MS);
  try {
    conn.close();
  } catch {
    // closed by the write's timeout
  }
}

/**
 * The role a bearer token grants, or undefined. Every configured token is compared in constant
 * time (SHA-256 digests of equal length), so timing reveals neither a token nor which one matched.
 */
export function roleOfBearer(header: string | null, tokens: ApiToken[]): Role | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  if (match === null) return undefined;
  const offered = tokenDigest(match[1]);
  let role: Role | undefined;
  for (const token of tokens) {
    if (timingSafeEqual(offered, tokenDigest(token.token)) && role === undefined) {
      role = token.role;
    }
  }
  return role;
}
