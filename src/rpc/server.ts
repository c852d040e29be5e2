/**
 * The listeners of libvirt's protocol: a read-write unix socket (mode 0660) and a read-only one
 * (mode 0666), as libvirtd's `libvirt-sock` and `libvirt-sock-ro`. No TCP: libvirt's TCP
 * transport needs SASL or TLS; remote users reach the socket over SSH
 * (`qemu+ssh://host/system?socket=…`).
 *
 * @module
 */

import { acceptLoop } from "../net/accept_loop.ts";
import { removeStaleSocket } from "../net/stale_socket.ts";
import { CONNECTION_LIMITS_DEFAULT, type ConnectionLimits, RpcConnection } from "./connection.ts";
import { procedureIndex } from "./procedures.ts";
import { QEMU_PROCEDURES } from "./qemu_procedures.ts";
import type { SharedService } from "./rpc_target.ts";

/**
 * Connections served at once on each socket; one more is closed at once, with a log line. Each
 * socket counts its own, so callers of the 0666 read-only socket cannot take the read-write
 * socket's slots.
 */
export const RPC_CONNECTIONS_MAX = 1024;

/** A failed accept is logged at most once per this interval, in ms. */
const ACCEPT_REPORT_INTERVAL_MS = 10_000;

/** Options of {@linkcode serveRpc}. */
export interface RpcServerOptions {
  /** The read-write socket's path. */
  socketPath: string;
  /** The read-only socket's path. */
  readOnlySocketPath: string;
  service: SharedService;
  /** Connections at once on each socket. Default {@linkcode RPC_CONNECTIONS_MAX}. */
  connectionsMax?: number;
  limits?: Partial<ConnectionLimits>;
  log?: (message: string) => void;
  onListen?: (address: string) => void;
}

/** The running listeners. */
export interface RpcServer {
  /** Connections being served. */
  readonly connections: number;
  /** Stops accepting, closes every connection, removes the socket files. */
  shutdown(): Promise<void>;
}

/**
 * Starts both listeners.
 *
 * @throws {VirtError} OPERATION_FAILED when a socket path is used by a live listener or is not a
 *   socket.
 *
 * @example
 * ```ts ignore
 * const server = await serveRpc({ socketPath, readOnlySocketPath, service });
 * await server.shutdown();
 * ```
 */
export async function serveRpc(options: RpcServerOptions): Promise<RpcServer> {
  const log = options.log ?? ((message: string) => console.error(`evirt: ${message}`));
  const procedures = procedureIndex();
  const qemuProcedures = procedureIndex(QEMU_PROCEDURES);
  const limits = { ...CONNECTION_LIMITS_DEFAULT, ...options.limits };
  const connectionsMax = options.connectionsMax ?? RPC_CONNECTIONS_MAX;
  const listeners: Deno.UnixListener[] = [];
  const open = new Set<RpcConnection>();
  const openOnSocket = new Map<string, number>();
  const loops: Promise<void>[] = [];
  const sockets = [
    { path: options.socketPath, readOnly: false, mode: 0o660, name: "rw" },
    { path: options.readOnlySocketPath, readOnly: true, mode: 0o666, name: "ro" },
  ];
  let accepted = 0;
  try {
    for (const socket of sockets) {
      await removeStaleSocket(socket.path, "stop it or set EVIRT_LIBVIRT_SOCKET");
      const listener = Deno.listen({ transport: "unix", path: socket.path });
      listeners.push(listener);
      Deno.chmodSync(socket.path, socket.mode);
      options.onListen?.(
        `unix:${socket.path} (libvirt protocol, ${socket.readOnly ? "read-only" : "read-write"})`,
      );
      const loopOptions = {
        name: `rpc ${socket.name}`,
        log,
        reportIntervalMs: ACCEPT_REPORT_INTERVAL_MS,
      };
      loops.push(acceptLoop(listener, loopOptions, (conn) => {
        const label = `${socket.name}#${++accepted}`;
        const onSocket = openOnSocket.get(socket.name) ?? 0;
        if (onSocket >= connectionsMax) {
          log(`rpc ${label}: refused: ${connectionsMax} connections already open on this socket`);
          conn.close();
          return;
        }
        const connection = new RpcConnection(conn, {
          readOnly: socket.readOnly,
          service: options.service,
          procedures,
          qemuProcedures,
          limits,
          log,
          label,
        });
        open.add(connection);
        openOnSocket.set(socket.name, onSocket + 1);
        void connection.run().finally(() => {
          open.delete(connection);
          openOnSocket.set(socket.name, (openOnSocket.get(socket.name) ?? 1) - 1);
        });
      }));
    }
  } catch (error) {
    for (const listener of listeners) listener.close();
    throw error;
  }
  return {
    get connections() {
      return open.size;
    },
    async shutdown() {
      for (const listener of listeners) {
        try {
          listener.close();
        } catch {
          // Already closed.
        }
      }
      await Promise.all(loops);
      await Promise.all([...open].map((connection) => connection.close()));
      for (const socket of sockets) {
        await Deno.remove(socket.path).catch(() => {});
      }
    },
  };
}
