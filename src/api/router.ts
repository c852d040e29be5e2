/**
 * A small method + path router for the API: patterns like `/v1/domains/:ref/actions/:action`,
 * matched segment by segment, with the matched pattern kept so the OpenAPI test can check that
 * every route is documented.
 *
 * @module
 */

/** What a handler receives besides the request. */
export interface RouteContext {
  /** Path parameters, decoded. */
  params: Record<string, string>;
  /** The request URL, parsed. */
  url: URL;
}

/** A route handler. */
export type Handler<Extra> = (
  request: Request,
  context: RouteContext & Extra,
) => Response | Promise<Response>;

interface Route<Extra> {
  method: string;
  pattern: string;
  segments: string[];
  handler: Handler<Extra>;
}

/** The outcome of {@linkcode Router.match}. */
export type Match<Extra> =
  | { kind: "found"; handler: Handler<Extra>; params: Record<string, string>; pattern: string }
  | { kind: "method_not_allowed"; allowed: string[] }
  | { kind: "not_found" };

/**
 * Routes requests by method and path pattern.
 *
 * @example
 * ```ts
 * import { Router } from "./router.ts";
 * const router = new Router<Record<string, never>>();
 * router.add("GET", "/v1/domains/:ref", (_request, { params }) => new Response(params.ref));
 * const match = router.match("GET", "/v1/domains/web");
 * console.log(match.kind); // "found"
 * ```
 */
export class Router<Extra> {
  readonly #routes: Route<Extra>[] = [];

  /** Adds a route; `:name` segments capture one path segment. */
  add(method: string, pattern: string, handler: Handler<Extra>): this {
    this.#routes.push({ method, pattern, segments: pattern.split("/"), handler });
    return this;
  }

  /** Every route as `METHOD pattern`, in the order added. */
  get routes(): { method: string; pattern: string }[] {
    return this.#routes.map(({ method, pattern }) => ({ method, pattern }));
  }

  /** Finds the route for a method and path. */
  match(method: string, path: string): Match<Extra> {
    const segments = path.split("/");
    const allowed: string[] = [];
    for (const route of this.#routes) {
      const params = matchSegments(route.segments, segments);
      if (params === undefined) continue;
      if (route.method === method || (method === "HEAD" && route.method === "GET")) {
        return { kind: "found", handler: route.handler, params, pattern: route.pattern };
      }
      allowed.push(route.method);
    }
    return allowed.length > 0 ? { kind: "method_not_allowed", allowed } : { kind: "not_found" };
  }
}

function matchSegments(
  pattern: string[],
  path: string[],
): Record<string, string> | undefined {
  if (pattern.length !== path.length) return undefined;
  const params: Record<string, string> = {};
  for (let index = 0; index < pattern.length; index++) {
    const expected = pattern[index];
    const actual = path[index];
    if (expected.startsWith(":")) {
      if (actual === "") return undefined;
      try {
        params[expected.slice(1)] = decodeURIComponent(actual);
      } catch {
        return undefined;
      }
    } else if (expected !== actual) {
      return undefined;
    }
  }
  return params;
}
