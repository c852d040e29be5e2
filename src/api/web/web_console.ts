/**
 * The web console (`GET /`): its page, script and style sheet, embedded as string modules so one
 * process or a compiled binary serves them, and its session routes (`/ui/session`, `/ui/login`,
 * `/ui/logout`). Everything else the page does goes through the API's own routes.
 *
 * Over a unix socket the page runs as the socket's role. Over TCP a login with a bearer token
 * makes a session cookie (see `web_sessions.ts`); {@linkcode authorizeCookie} is what the TCP
 * listener applies to API requests that come with it. Every answer here carries a strict
 * Content-Security-Policy: scripts, styles and connections from the service itself only, no
 * inline script, no framing.
 *
 * @module
 */

import { concatBytes } from "../../model/byte_chunks.ts";
import { ErrorCode, VirtError } from "../../model/errors.ts";
import type { Role } from "../api_context.ts";
import { errorResponse, jsonResponse } from "../http_errors.ts";
import { APP_JS } from "./assets/app_js.ts";
import { INDEX_HTML } from "./assets/index_html.ts";
import { STYLE_CSS } from "./assets/style_css.ts";
import { type Session, sessionCookie, WebSessions } from "./web_sessions.ts";

/** The policy every console answer carries. */
export const CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; " +
  "img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; " +
  "frame-ancestors 'none'";

/** Largest login form body read, in bytes. */
const LOGIN_BODY_MAX_BYTES = 4096;

/** Where a console request came from. */
export type WebTransport =
  | { kind: "unix"; role: Role }
  | { kind: "tcp"; sessions: WebSessions };

const ASSETS: ReadonlyMap<string, { body: string; type: string }> = new Map([
  ["/", { body: INDEX_HTML, type: "text/html; charset=utf-8" }],
  ["/index.html", { body: INDEX_HTML, type: "text/html; charset=utf-8" }],
  ["/ui/app.js", { body: APP_JS, type: "text/javascript; charset=utf-8" }],
  ["/ui/style.css", { body: STYLE_CSS, type: "text/css; charset=utf-8" }],
]);

/** Whether a path is the console's (not the API's). */
export function isWebConsolePath(pathname: string): boolean {
  return ASSETS.has(pathname) || pathname.startsWith("/ui/");
}

/**
 * Answers a console request.
 *
 * @example
 * ```ts
 * import { handleWebConsole } from "./web_console.ts";
 * const page = await handleWebConsole(new Request("http://evirt/"), {
 *   kind: "unix",
 *   role: "read-only",
 * });
 * console.log(page.headers.get("content-type")); // "text/html; charset=utf-8"
 * ```
 */
export async function handleWebConsole(
  request: Request,
  transport: WebTransport,
): Promise<Response> {
  let response: Response;
  try {
    response = await route(request, transport);
  } catch (error) {
    response = errorResponse(error);
  }
  return withSecurityHeaders(response);
}

async function route(request: Request, transport: WebTransport): Promise<Response> {
  const { pathname } = new URL(request.url);
  const asset = ASSETS.get(pathname);
  let response: Response;
  if (asset !== undefined) {
    response = request.method === "GET" || request.method === "HEAD"
      ? new Response(request.method === "HEAD" ? null : asset.body, {
        headers: { "content-type": asset.type, "cache-control": "no-cache" },
      })
      : methodNotAllowed(request, "GET");
  } else if (pathname === "/ui/session") {
    response = request.method === "GET" ? sessionView(request, transport) : methodNotAllowed(
      request,
      "GET",
    );
  } else if (pathname === "/ui/login") {
    response = request.method === "POST"
      ? await login(request, transport)
      : methodNotAllowed(request, "POST");
  } else if (pathname === "/ui/logout") {
    response = request.method === "POST"
      ? logout(request, transport)
      : methodNotAllowed(request, "POST");
  } else {
    response = errorResponse(
      new VirtError(ErrorCode.INVALID_ARG, `no such resource '${pathname}'`, { where: "path" }),
    );
    response = new Response(response.body, { status: 404, headers: response.headers });
  }
  return response;
}

/**
 * What a request carrying a session cookie may do on the API: the session's role, or a refusal
 * (code 29 for a mutating request without the session's CSRF token or from another origin);
 * undefined when the request names no live session.
 */
export function authorizeCookie(
  request: Request,
  sessions: WebSessions,
): { role: Role } | { refusal: Response } | undefined {
  const session = sessions.fromRequest(request);
  if (session === undefined) return undefined;
  if (!sameOrigin(request)) {
    return {
      refusal: errorResponse(
        new VirtError(
          ErrorCode.OPERATION_DENIED,
          "a session cookie is accepted from the console's own origin only",
        ),
      ),
    };
  }
  const safe = request.method === "GET" || request.method === "HEAD";
  if (!safe && !WebSessions.csrfMatches(request, session)) {
    return {
      refusal: errorResponse(
        new VirtError(
          ErrorCode.OPERATION_DENIED,
          "a request made with the session cookie must carry its session's X-Evirt-CSRF header",
        ),
      ),
    };
  }
  return { role: session.role };
}

function sessionView(request: Request, transport: WebTransport): Response {
  if (transport.kind === "unix") {
    return jsonResponse({ role: transport.role, csrf: null, transport: "unix" });
  }
  const session = transport.sessions.fromRequest(request);
  if (session === undefined) {
    return errorResponse(new VirtError(ErrorCode.AUTH_FAILED, "log in with an API token"));
  }
  return jsonResponse({ role: session.role, csrf: session.csrf, transport: "tcp" });
}

async function login(request: Request, transport: WebTransport): Promise<Response> {
  if (transport.kind === "unix") {
    throw new VirtError(
      ErrorCode.OPERATION_INVALID,
      "the unix socket grants its role without a login",
    );
  }
  if (!sameOrigin(request)) {
    return errorResponse(
      new VirtError(
        ErrorCode.OPERATION_DENIED,
        "a login is accepted from the console's own origin only",
      ),
    );
  }
  const form = new URLSearchParams(await boundedText(request, LOGIN_BODY_MAX_BYTES));
  const session = transport.sessions.login(form.get("token") ?? "");
  if (session === undefined) return redirect("/?login=failed");
  return redirect("/", sessionCookie(session.id, false));
}

function logout(request: Request, transport: WebTransport): Response {
  if (transport.kind === "unix") return new Response(null, { status: 204 });
  const session: Session | undefined = transport.sessions.fromRequest(request);
  if (session === undefined) return redirect("/", sessionCookie("", false));
  if (!WebSessions.csrfMatches(request, session)) {
    return errorResponse(
      new VirtError(
        ErrorCode.OPERATION_DENIED,
        "a logout must carry its session's X-Evirt-CSRF header",
      ),
    );
  }
  transport.sessions.logout(session.id);
  return new Response(null, {
    status: 204,
    headers: { "set-cookie": sessionCookie("", false) },
  });
}

/**
 * Whether the request's `Origin` (sent by browsers on every cross-site and every non-GET
 * request) names the host it was sent to; a request without one (not from a page) passes.
 */
function sameOrigin(request: Request): boolean {
  const origin = request.headers.get("origin");
  if (origin === null) return true;
  const host = request.headers.get("host");
  return host !== null && (origin === `http://${host}` || origin === `https://${host}`);
}

async function boundedText(request: Request, maxBytes: number): Promise<string> {
  if (request.body === null) return "";
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of request.body) {
    total += chunk.byteLength;
    if (total > maxBytes) {
      throw new VirtError(ErrorCode.INVALID_ARG, `a login form is at most ${maxBytes} bytes`, {
        where: "body",
      });
    }
    chunks.push(chunk);
  }
  return new TextDecoder().decode(concatBytes(chunks, total));
}

function redirect(location: string, cookie?: string): Response {
  const headers = new Headers({ location });
  if (cookie !== undefined) headers.set("set-cookie", cookie);
  return new Response(null, { status: 303, headers });
}

function methodNotAllowed(request: Request, allowed: string): Response {
  const response = errorResponse(
    new VirtError(
      ErrorCode.OPERATION_UNSUPPORTED,
      `method ${request.method} is not allowed on '${new URL(request.url).pathname}'`,
    ),
    { allow: allowed },
  );
  return new Response(response.body, { status: 405, headers: response.headers });
}

function withSecurityHeaders(response: Response): Response {
  const headers = new Headers(response.headers);
  headers.set("content-security-policy", CONTENT_SECURITY_POLICY);
  headers.set("x-content-type-options", "nosniff");
  // Not `no-referrer`: with it a browser sends `Origin: null` on a form post, which the login refuses.
  headers.set("referrer-policy", "same-origin");
  headers.set("x-frame-options", "DENY");
  return new Response(response.body, { status: response.status, headers });
}
