/**
 * `/v1/domains/:ref/console/socket` and `/v1/domains/:ref/graphics/socket`: a domain's serial
 * console and its VNC display as WebSockets, which is what a browser can open (xterm.js and
 * noVNC in the web console).
 *
 * The serial console relays the pty through {@linkcode SerialConsoles} (one writer at a time,
 * `force` ends the other, read-only callers view, and so does a read-write caller that asks
 * `view=1`). Refusals that come after the upgrade (the
 * browser cannot read an HTTP error body of a WebSocket) close the socket with code 4000 plus
 * libvirt's error code and the message as reason: 4009 "Active console session exists for this
 * domain", 4029 a read-only caller that wrote, 4001 a session another writer forced out.
 *
 * The console of a domain another host of the fleet owns is carried from that host
 * ({@linkcode carriedConsoleSocket}): the same socket, the owner's rules, its output read at the
 * pace the browser takes it.
 *
 * The graphics socket connects to the VNC server QEMU listens on (its live address and port, or
 * its unix socket) and relays bytes both ways, reading from QEMU only while the browser keeps up.
 *
 * @module
 */

import { ErrorCode, isVirtError, VirtError } from "../../model/errors.ts";
import { liveFactsOf, withLiveFacts } from "../../model/live_facts.ts";
import type { ApiRequestContext, RouteAdder, RouteContext } from "../api_context.ts";
import type { ConnectionHandle } from "../http1_connection.ts";
import type { ConsoleAttachment, ConsoleDetach } from "../../host/serial_consoles.ts";
import { type CarriedConsole, consoleWriter } from "../console_access.ts";
import {
  isWebSocketUpgrade,
  offeredProtocols,
  type SocketMessageEvent,
  type WebSocketConnection,
} from "../websocket_connection.ts";

type Context = RouteContext & ApiRequestContext;

/** The subprotocol evirt's sockets answer when the client offers it. */
export const SOCKET_PROTOCOL = "evirt.v1";
/** Close code of a session another writer forced out. */
export const CLOSE_REPLACED = 4001;
/** Close codes of refusals: this plus libvirt's error code. */
export const CLOSE_ERROR_BASE = 4000;
/** Messages kept while a console attachment is being made. */
const EARLY_MESSAGES_MAX = 64;
/** Console input of a carried console waiting for the owning host, in bytes, at most. */
const CARRIED_INPUT_PENDING_MAX_BYTES = 256 * 1024;
/** Unsent console output at which a viewer that does not keep up is cut, in bytes. */
const CONSOLE_UNSENT_MAX_BYTES = 1024 * 1024;
/** Unsent display bytes above which reading from the VNC server waits for the browser. */
const GRAPHICS_UNSENT_HIGH_BYTES = 1024 * 1024;
/** Bytes read from the VNC server at once. */
const GRAPHICS_CHUNK_BYTES = 64 * 1024;
/** Largest message taken from the browser (RFB client messages are small), in bytes. */
const GRAPHICS_MESSAGE_MAX_BYTES = 65535;
/** Browser bytes queued for the VNC server before the socket is cut. */
const GRAPHICS_QUEUED_MAX_BYTES = 4 * 1024 * 1024;
/** How long connecting to the VNC server may take, in ms. */
const GRAPHICS_CONNECT_TIMEOUT_MS = 5000;

/** Registers the console socket routes. */
export function consoleRoutes(add: RouteAdder): void {
  add("domain.console_socket", (request, context) => consoleSocket(request, context));
  add("domain.graphics_socket", (request, context) => graphicsSocket(request, context));
}

function upgrade(request: Request, context: Context, messageMaxBytes?: number) {
  const connection: ConnectionHandle | undefined = context.connection;
  if (!isWebSocketUpgrade(request)) {
    throw new VirtError(ErrorCode.INVALID_ARG, "this resource answers a WebSocket upgrade only", {
      where: "headers",
    });
  }
  if (connection === undefined) {
    throw new VirtError(
      ErrorCode.OPERATION_UNSUPPORTED,
      "a WebSocket needs a socket connection to the service",
    );
  }
  const offered = offeredProtocols(request);
  return connection.upgradeWebSocket(request, {
    ...(offered.includes(SOCKET_PROTOCOL) ? { protocol: SOCKET_PROTOCOL } : {}),
    ...(messageMaxBytes === undefined ? {} : { messageMaxBytes }),
  });
}

/** The refusal of a console session that wrote without being the writer (code 29). */
function viewerWrote(viewOnly: boolean): VirtError {
  return new VirtError(
    ErrorCode.OPERATION_DENIED,
    viewOnly
      ? "a console session opened to view (view=1) does not write"
      : "read only access prevents virDomainOpenConsole",
  );
}

/** Closes a socket with a refusal: 4000 + the error's code, its message as reason. */
function closeWithError(socket: WebSocketConnection, error: unknown): void {
  const code = isVirtError(error) ? error.code : ErrorCode.INTERNAL_ERROR;
  const message = error instanceof Error ? error.message : String(error);
  socket.close(CLOSE_ERROR_BASE + code, message);
}

/**
 * The console socket of a domain another host owns: `open` asks the owner for its console
 * (after the upgrade, as the local socket attaches then), whose output is relayed while the
 * browser keeps up; refusals close the socket as the local socket's do.
 */
export function carriedConsoleSocket(
  request: Request,
  context: Pick<Context, "connection" | "role" | "url">,
  open: (writer: { view: boolean; force: boolean }) => Promise<CarriedConsole>,
): Response {
  const force = ["", "1", "true"].includes(context.url.searchParams.get("force") ?? "false");
  const view = ["", "1", "true"].includes(context.url.searchParams.get("view") ?? "false");
  const writer = consoleWriter(context.role, view);
  const { socket, response } = upgrade(request, context as Context);
  let carried: CarriedConsole | undefined;
  let writing = Promise.resolve();
  // Typed bytes waiting for the owner's window: bounded as a local console's are.
  let pendingBytes = 0;
  const early: Uint8Array[] = [];
  const write = (bytes: Uint8Array) => {
    const console = carried!;
    if (pendingBytes + bytes.byteLength > CARRIED_INPUT_PENDING_MAX_BYTES) {
      closeWithError(
        socket,
        new VirtError(
          ErrorCode.RESOURCE_BUSY,
          `more than ${CARRIED_INPUT_PENDING_MAX_BYTES} bytes of console input wait for the owning host`,
        ),
      );
      return;
    }
    pendingBytes += bytes.byteLength;
    writing = writing.then(() => console.write(bytes)).catch((error) =>
      closeWithError(socket, error)
    ).finally(() => {
      pendingBytes -= bytes.byteLength;
    });
  };
  socket.addEventListener("message", (event) => {
    const data = (event as SocketMessageEvent).data;
    if (!writer) {
      closeWithError(socket, viewerWrote(view));
      return;
    }
    if (carried !== undefined) return write(data);
    if (early.length >= EARLY_MESSAGES_MAX) return socket.terminate();
    early.push(data);
  });
  socket.addEventListener("close", () => carried?.close(), { once: true });
  socket.addEventListener("open", () => {
    open({ view, force }).then(async (console) => {
      carried = console;
      if (socket.readyState !== 1) return console.close();
      for (const bytes of early.splice(0)) write(bytes);
      try {
        for (;;) {
          const chunk = await console.read();
          if (chunk === null) break;
          if (typeof chunk === "number") continue;
          if (socket.bufferedAmount > CONSOLE_UNSENT_MAX_BYTES) {
            socket.close(1008, "the console's output is not read fast enough");
            return;
          }
          socket.sendBytes(chunk);
        }
        socket.close(1000, "the console ended");
      } catch (error) {
        closeWithError(socket, error);
      }
    }, (error) => closeWithError(socket, error));
  }, { once: true });
  return response;
}

function consoleSocket(request: Request, context: Context): Response {
  const { host, consoles } = context.env;
  if (consoles === undefined) {
    throw new VirtError(ErrorCode.NO_SUPPORT, "this service offers no console sessions");
  }
  const summary = host.lookup(context.params.ref);
  const device = context.url.searchParams.get("device") ?? undefined;
  // Checked before the upgrade, so an API client reads why over HTTP.
  const path = host.consolePath(summary.uuid, device);
  const force = ["", "1", "true"].includes(context.url.searchParams.get("force") ?? "false");
  // A read-write caller may ask to view only (the web console's boot progress): no writer slot.
  const viewOnly = ["", "1", "true"].includes(context.url.searchParams.get("view") ?? "false");
  const writer = consoleWriter(context.role, viewOnly);
  const { socket, response } = upgrade(request, context);
  let attachment: ConsoleAttachment | undefined;
  const early: Uint8Array[] = [];
  socket.addEventListener("message", (event) => {
    const data = (event as SocketMessageEvent).data;
    if (!writer) {
      closeWithError(socket, viewerWrote(viewOnly));
      return;
    }
    if (attachment === undefined) {
      // Typed before the attachment is made: kept, within a bound, and written once it is.
      if (early.length >= EARLY_MESSAGES_MAX) return socket.terminate();
      early.push(data);
    } else {
      attachment.write(data).catch((error) => closeWithError(socket, error));
    }
  });
  socket.addEventListener("close", () => attachment?.detach(), { once: true });
  socket.addEventListener("open", () => {
    consoles.attach(summary.uuid, path, { writer, force }, {
      output(bytes) {
        if (socket.bufferedAmount > CONSOLE_UNSENT_MAX_BYTES) {
          socket.close(1008, "the console's output is not read fast enough");
          return;
        }
        socket.sendBytes(bytes);
      },
      end(why: ConsoleDetach) {
        if (why === "replaced") {
          socket.close(CLOSE_REPLACED, "another console session took over (force)");
        } else socket.close(1000, why === "ended" ? "the console ended" : "the service stops");
      },
    }).then((attached) => {
      attachment = attached;
      if (socket.readyState !== 1) return attached.detach();
      for (const bytes of early.splice(0)) {
        attached.write(bytes).catch((error) => closeWithError(socket, error));
      }
    }, (error) => closeWithError(socket, error));
  }, { once: true });
  return response;
}

/** Where a running domain's VNC server listens, from its live definition. */
function vncEndpoint(
  context: Context,
  uuid: string,
): Deno.ConnectOptions | Deno.UnixConnectOptions {
  const domain = context.env.host.context(uuid);
  if (domain.live === null) {
    throw new VirtError(ErrorCode.OPERATION_INVALID, "domain is not running");
  }
  const live = withLiveFacts(domain.live, liveFactsOf(domain.runtime));
  const graphics = live.devices.graphics.find((item) => item.type === "vnc");
  if (graphics === undefined) {
    throw new VirtError(ErrorCode.CONFIG_UNSUPPORTED, "domain has no VNC display");
  }
  const listen = graphics.listens[0];
  const socketPath = listen?.type === "socket" ? listen.socket : graphics.socket;
  if (socketPath !== undefined) return { transport: "unix", path: socketPath };
  if (listen?.type === "none" || graphics.port === undefined || graphics.port <= 0) {
    throw new VirtError(ErrorCode.CONFIG_UNSUPPORTED, "the VNC display listens on no address");
  }
  let address = listen?.address ?? graphics.listen ?? "127.0.0.1";
  // A wildcard listen is reached on the loopback of the same family.
  if (address === "0.0.0.0") address = "127.0.0.1";
  if (address === "::") address = "::1";
  return { hostname: address, port: graphics.port };
}

async function connectWithin(
  options: Deno.ConnectOptions | Deno.UnixConnectOptions,
  timeoutMs: number,
): Promise<Deno.Conn> {
  const signal = AbortSignal.timeout(timeoutMs);
  const attempt = "transport" in options && options.transport === "unix"
    ? Deno.connect(options as Deno.UnixConnectOptions)
    : Deno.connect({ ...(options as Deno.ConnectOptions), signal });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([attempt, late]);
  } catch (error) {
    attempt.then((conn) => conn.close(), () => {});
    throw new VirtError(
      ErrorCode.OPERATION_FAILED,
      `cannot connect to the VNC display: ${(error as Error).message}`,
    );
  } finally {
    clearTimeout(timer);
  }
}

async function graphicsSocket(request: Request, context: Context): Promise<Response> {
  const summary = context.env.host.lookup(context.params.ref);
  const endpoint = vncEndpoint(context, summary.uuid);
  const vnc = await connectWithin(endpoint, GRAPHICS_CONNECT_TIMEOUT_MS);
  let upgraded;
  try {
    upgraded = upgrade(request, context, GRAPHICS_MESSAGE_MAX_BYTES);
  } catch (error) {
    vnc.close();
    throw error;
  }
  const { socket, response } = upgraded;
  let closed = false;
  const closeVnc = () => {
    if (closed) return;
    closed = true;
    try {
      vnc.close();
    } catch {
      // already closed
    }
  };
  let queuedBytes = 0;
  let writing: Promise<void> = Promise.resolve();
  socket.addEventListener("message", (event) => {
    const data = (event as SocketMessageEvent).data;
    queuedBytes += data.byteLength;
    if (queuedBytes > GRAPHICS_QUEUED_MAX_BYTES) return socket.terminate();
    writing = writing.then(async () => {
      let offset = 0;
      while (offset < data.length && !closed) offset += await vnc.write(data.subarray(offset));
      queuedBytes -= data.byteLength;
    }).catch(() => socket.close(1011, "the VNC display closed"));
  });
  socket.addEventListener("close", closeVnc, { once: true });
  socket.addEventListener("open", async () => {
    const buffer = new Uint8Array(GRAPHICS_CHUNK_BYTES);
    try {
      for (;;) {
        const count = await vnc.read(buffer);
        if (count === null) break;
        socket.sendBytes(buffer.slice(0, count));
        if (socket.bufferedAmount > GRAPHICS_UNSENT_HIGH_BYTES) await socket.flushed();
        if (socket.readyState !== 1) break;
      }
    } catch {
      // The display closed, or the socket's close cut the read.
    }
    closeVnc();
    socket.close(1000, "the VNC display closed");
  }, { once: true });
  return response;
}
