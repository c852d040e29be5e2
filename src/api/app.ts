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

import { ErrorCode, isVirtError, VirtError } from "../model/errors.ts";
import type {
  ApiEnvironment,
  ApiRequestContext,
  Role,
  RouteAdder,
  RouteSettings,
} from "./api_context.ts";
import { budgetedRequest } from "./body_budget.ts";
import { errorResponse } from "./http_errors.ts";
import type { ConnectionHandle } from "./http1_connection.ts";
import { Router } from "./router.ts";
import { domainRoutes } from "./routes/domain_routes.ts";
import { eventRoutes } from "./routes/event_routes.ts";
import { statsRoutes } from "./routes/stats_routes.ts";
import { systemRoutes } from "./routes/system_routes.ts";

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
  const settingsByRoute = new Map<string, RouteSettings>();
  const add: RouteAdder = (method, pattern, settings, handler) => {
    router.add(method, pattern, handler);
    settingsByRoute.set(`${method} ${pattern}`, settings);
  };
  systemRoutes(add);
  domainRoutes(add);
  statsRoutes(add);
  eventRoutes(add);

  async function handle(
    request: Request,
    role: Role,
    connection?: ConnectionHandle,
  ): Promise<Response> {
    env.metrics.request();
    const url = new URL(request.url);
    const match = router.match(request.method, url.pathname);
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
    const settings = settingsByRoute.get(`${method} ${match.pattern}`) ?? {};
    const operation = settings.mutation ?? `${request.method} ${match.pattern}`;
    if (settings.mutation !== undefined && role === "read-only") {
      env.metrics.operation(operation, "error");
      return fail(
        new VirtError(
          ErrorCode.OPERATION_DENIED,
          `read only access prevents ${settings.mutation}`,
        ),
      );
    }
    const metered = budgetedRequest(
      request,
      env.bodies,
      Math.max(env.xmlMaxBytes, env.bodyMaxBytes),
    );
    try {
      const context = {
        params: match.params,
        url,
        role,
        env,
        ...(connection === undefined ? {} : { connection }),
      };
      const response = settings.streaming
        ? await match.handler(metered.request, context)
        : await withTimeout(
          Promise.resolve(match.handler(metered.request, context)),
          env.requestTimeoutMs + waitMs(url),
        );
      env.metrics.operation(operation, response.status < 400 ? "ok" : "error");
      return response;
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

/** A `?wait=SECONDS` request may take that much longer than the request timeout. */
function waitMs(url: URL): number {
  const seconds = Number(url.searchParams.get("wait") ?? "0");
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 0;
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new VirtError(
            ErrorCode.OPERATION_TIMEOUT,
            `request took longer than ${timeoutMs} ms; the operation may still complete`,
          ),
        ),
      timeoutMs,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
