/**
 * The API application: mounts the resource routes and applies what every request goes through —
 * the read-only check (code 29, naming the libvirt call it prevents, as libvirt does), the request
 * timeout (code 68), error mapping and metrics.
 *
 * It is transport-free: `handle(request, role)` answers a `Request`. The server binds it to the
 * unix sockets and TCP; the CLI's in-process `test:///default` connection calls it directly.
 *
 * @module
 */

import { deviceRoutes } from "./routes/device_routes.ts";
import { ErrorCode, isVirtError, VirtError } from "../model/errors.ts";
import { DRIVER_HEADER } from "../model/connection_driver.ts";
import { scopedHost, scopeOfDriver } from "../../actors/domain_type_scope.ts";
import {
  deniedCallOf,
  type Operation,
  operation as operationRow,
  OPERATIONS,
  type RoutedOperationName,
} from "../model/operations.ts";
import {
  type ApiEnvironment,
  type ApiRequestContext,
  FORWARDED_HEADER,
  type Role,
  type RouteAdder,
} from "./api_context.ts";
import { budgetedRequest } from "./body_budget.ts";
import { errorResponse } from "./http_errors.ts";
import type { ConnectionHandle } from "./http1_connection.ts";
import { Router } from "./router.ts";
import { validateQuery } from "./request_schemas.ts";
import { checkedAnswer } from "./answer_check.ts";
import { domainRoutes } from "./routes/domain_routes.ts";
import { eventRoutes } from "./routes/event_routes.ts";
import { carriedConsoleSocket, consoleRoutes } from "./routes/console_routes.ts";
import { guestRoutes } from "./routes/guest_routes.ts";
import { resourceRoutes } from "./routes/resource_routes.ts";
import { blockJobRoutes } from "./routes/block_job_routes.ts";
import { statsRoutes } from "./routes/stats_routes.ts";
import { storageRoutes } from "./routes/storage_routes.ts";
import { saveRoutes } from "./routes/save_routes.ts";
import { snapshotRoutes } from "./routes/snapshot_routes.ts";
import { networkRoutes } from "./routes/network_routes.ts";
import { secretRoutes } from "./routes/secret_routes.ts";
import { systemRoutes } from "./routes/system_routes.ts";
import { fleetRoutes } from "./routes/fleet_routes.ts";
import { hostGuestsRoutes } from "./routes/host_guests_routes.ts";
import { migrationLimitRoutes } from "./routes/migration_limit_routes.ts";
import { nativeFormatRoutes } from "./routes/native_format_routes.ts";

/** The API application. */
export interface Api {
  /**
   * Answers one request for a caller with `role`; `connection` is the socket it came on (absent
   * for in-process calls).
   */
  handle(request: Request, role: Role, connection?: ConnectionHandle): Promise<Response>;
  /** Every route as method and pattern (`/v1/domains/:ref`). */
  routes: { method: string; pattern: string }[];
}

/**
 * Builds the API over a service environment.
 *
 * @example
 * ```ts ignore
 * const api = createApi(env);
 * const response = await api.handle(new Request("http://evirt/v1/domains"), "read-only");
 * ```
 */
export function createApi(env: ApiEnvironment): Api {
  const router = new Router<ApiRequestContext>();
  const rowByRoute = new Map<string, Operation>();
  const add: RouteAdder = (name, handler) => {
    const row = operationRow(name);
    if (row.http === null) throw new Error(`Operation ${name} has no route`);
    const key = `${row.http.method} ${row.http.path}`;
    if (rowByRoute.has(key)) throw new Error(`Route ${key} is registered twice`);
    router.add(row.http.method, row.http.path, handler);
    rowByRoute.set(key, row);
  };
  systemRoutes(add);
  fleetRoutes(add);
  hostGuestsRoutes(add);
  migrationLimitRoutes(add);
  nativeFormatRoutes(add);
  domainRoutes(add);
  statsRoutes(add);
  eventRoutes(add);
  consoleRoutes(add);
  guestRoutes(add);
  resourceRoutes(add);
  blockJobRoutes(add);
  deviceRoutes(add);
  storageRoutes(add);
  saveRoutes(add);
  snapshotRoutes(add);
  networkRoutes(add);
  secretRoutes(add);
  assertEveryRouteServed(rowByRoute);

  async function handle(
    request: Request,
    role: Role,
    connection?: ConnectionHandle,
  ): Promise<Response> {
    const startedMs = performance.now();
    const given = request.headers.get("x-request-id");
    const requestId = given !== null && REQUEST_ID_PATTERN.test(given) ? given : newRequestId();
    const answered = { route: "" };
    let response = await route(request, role, answered, connection);
    try {
      response.headers.set("x-request-id", requestId);
    } catch {
      // Immutable headers (a response made elsewhere): copy it with the header.
      const headers = new Headers(response.headers);
      headers.set("x-request-id", requestId);
      response = new Response(response.body, { status: response.status, headers });
    }
    env.onRequest?.({
      requestId,
      method: request.method,
      route: answered.route,
      role,
      status: response.status,
      durationMs: Math.round((performance.now() - startedMs) * 1000) / 1000,
    });
    return response;
  }

  async function route(
    request: Request,
    role: Role,
    answered: { route: string },
    connection?: ConnectionHandle,
  ): Promise<Response> {
    env.metrics.request();
    const url = new URL(request.url);
    const match = router.match(request.method, url.pathname);
    answered.route = match.kind === "found" ? match.pattern : url.pathname;
    if (match.kind === "not_found") {
      return fail(
        new VirtError(ErrorCode.INVALID_ARG, `no such resource '${url.pathname}'`, {
          where: "path",
        }),
        404,
      );
    }
    if (match.kind === "method_not_allowed") {
      const response = fail(
        new VirtError(
          ErrorCode.OPERATION_UNSUPPORTED,
          `method ${request.method} is not allowed on '${url.pathname}'`,
        ),
        405,
      );
      response.headers.set("allow", match.allowed.join(", "));
      return response;
    }
    const method = request.method === "HEAD" ? "GET" : request.method;
    const row = rowByRoute.get(`${method} ${match.pattern}`);
    if (row === undefined || row.http === null) {
      throw new Error(`Unregistered route ${match.pattern}`);
    }
    const operation = deniedCallOf(row);
    if (row.access === "read-write" && role === "read-only") {
      env.metrics.operation(operation, "error");
      return fail(
        new VirtError(ErrorCode.OPERATION_DENIED, `read only access prevents ${operation}`),
      );
    }
    const owner = ownerElsewhere(env, request, match.params);
    if (owner !== undefined) {
      // Another host owns the domain: it answers (one hop); its console is carried from it.
      if (row.name === "domain.console_socket" && env.fleet?.openConsole !== undefined) {
        const openConsole = env.fleet.openConsole;
        try {
          const uuid = env.fleet.domains?.().find((lease) =>
            lease.uuid === match.params.ref.toLowerCase() || lease.name === match.params.ref
          )?.uuid ?? match.params.ref;
          const device = url.searchParams.get("device") ?? undefined;
          return carriedConsoleSocket(request, {
            ...(connection === undefined ? {} : { connection }),
            role,
            url,
          }, (mode) =>
            openConsole(owner, {
              uuid,
              ...(device === undefined ? {} : { device }),
              role,
              ...mode,
            }));
        } catch (error) {
          return fail(error);
        }
      }
      // A pty path names a device of the owner's machine: useless here, so not forwarded.
      if (row.name === "domain.console") {
        return fail(
          new VirtError(
            ErrorCode.OPERATION_INVALID,
            `domain '${match.params.ref}' is on host '${owner}': its console pty is there; ` +
              "reach it through this host with evirt console, virsh console or the console " +
              `socket (/v1/domains/${match.params.ref}/console/socket)`,
          ),
        );
      }
      if (row.http.streaming || row.http.rawBody) {
        return fail(
          new VirtError(
            ErrorCode.OPERATION_INVALID,
            `domain '${match.params.ref}' is on host '${owner}': open this stream there`,
          ),
        );
      }
      try {
        return await env.fleet!.forward!(owner, request, role);
      } catch (error) {
        return fail(error);
      }
    }
    const metered = row.http.rawBody
      ? { request, release: () => {} }
      : budgetedRequest(request, env.bodies, Math.max(env.xmlMaxBytes, env.bodyMaxBytes));
    // Streams run until the caller leaves; anything else also ends at the request timeout, and
    // its signal tells the host commands it runs that nobody waits for them any more.
    const expired = new AbortController();
    const signal = row.http.streaming
      ? request.signal
      : AbortSignal.any([request.signal, expired.signal]);
    try {
      validateQuery(row, url);
      const context = {
        params: match.params,
        url,
        role,
        env: envOfDriver(env, request.headers.get(DRIVER_HEADER)),
        signal,
        ...(connection === undefined ? {} : { connection }),
      };
      const response = row.http.streaming
        ? await match.handler(metered.request, context)
        : await withTimeout(
          Promise.resolve(match.handler(metered.request, context)),
          env.requestTimeoutMs + waitMs(url),
          expired,
        );
      env.metrics.operation(operation, response.status < 400 ? "ok" : "error");
      return env.checkAnswers ? await checkedAnswer(row, response) : response;
    } catch (error) {
      env.metrics.operation(operation, "error");
      return fail(error);
    } finally {
      metered.release();
    }
  }

  function fail(error: unknown, status?: number): Response {
    const code = isVirtError(error) ? error.code : ErrorCode.INTERNAL_ERROR;
    env.metrics.error(code);
    const response = errorResponse(error);
    if (status === undefined) return response;
    return new Response(response.body, { status, headers: response.headers });
  }

  return { handle, routes: router.routes };
}

/**
 * The host that owns the domain a request names, when it is another host of the fleet and the
 * request was not forwarded already; undefined otherwise (this host answers).
 */
function ownerElsewhere(
  env: ApiEnvironment,
  request: Request,
  params: Record<string, string>,
): string | undefined {
  const reference = params.ref;
  if (reference === undefined || env.fleet?.ownerElsewhere === undefined) return undefined;
  if (env.fleet.forward === undefined || request.headers.has(FORWARDED_HEADER)) return undefined;
  // An all-digit reference is an id, which only names a domain of this host.
  if (/^[0-9]+$/.test(reference)) return undefined;
  return env.fleet.ownerElsewhere(reference);
}

/**
 * The environment a request on a driver's connection sees: the host limited to that driver's
 * domains (`x-evirt-driver: lxc`); every domain without the header.
 *
 * @throws {VirtError} NO_CONNECT (5) for a driver evirt does not serve.
 */
function envOfDriver(env: ApiEnvironment, driver: string | null): ApiEnvironment {
  if (driver === null) return env;
  const scope = scopeOfDriver(driver);
  if (scope === undefined) {
    throw new VirtError(ErrorCode.NO_CONNECT, `no connection driver available for '${driver}'`, {
      where: DRIVER_HEADER,
    });
  }
  return { ...env, host: scopedHost(env.host, scope) };
}

/** Every routed operation of the table must have been given a handler, once. */
function assertEveryRouteServed(rowByRoute: Map<string, Operation>): void {
  const served = new Set([...rowByRoute.values()].map((row) => row.name));
  const missing = OPERATIONS.filter((row) => row.http !== null && !served.has(row.name));
  if (missing.length > 0) {
    throw new Error(`Operations without a handler: ${missing.map((row) => row.name).join(", ")}`);
  }
}

/** The operations table's routed names, for tests that walk every route. */
export type { RoutedOperationName };

/** A caller's own `X-Request-Id` is kept when it is this tame; otherwise one is made. */
const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,64}$/;

let requestSequence = 0;
const requestPrefix = crypto.randomUUID().slice(0, 8);

/** A request id unique to this service's life: a random prefix and a sequence number. */
function newRequestId(): string {
  requestSequence += 1;
  return `${requestPrefix}-${requestSequence.toString(36)}`;
}

/** A `?wait=SECONDS` request may take that much longer than the request timeout. */
function waitMs(url: URL): number {
  const seconds = Number(url.searchParams.get("wait") ?? "0");
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 0;
}

function withTimeout<T>(
  promise: Promise<T>,
  timeoutMs: number,
  expired: AbortController,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      const error = new VirtError(
        ErrorCode.OPERATION_TIMEOUT,
        `request took longer than ${timeoutMs} ms; the operation may still complete`,
      );
      expired.abort(error);
      reject(error);
    }, timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
