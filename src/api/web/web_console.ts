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
import { isWebSocketUpgrade } from "../websocket_connection.ts";
import { errorResponse, jsonResponse } from "../http_errors.ts";
import { APP_JS } from "./assets/app_js.ts";
import { CONSOLE_JS } from "./assets/console_js.ts";
import { indexHtml } from "./assets/index_html.ts";
import { STYLE_CSS } from "./assets/style_css.ts";
import { NOVNC_PREFIX, novncModule, XTERM_CSS, XTERM_JS } from "./vendor_assets.ts";
import { type Session, sessionCookie, WebSessions } from "./web_sessions.ts";

/**
 * The policy every console answer carries; the page's own adds a per-answer nonce to
 * `style-src`, which the console's script gives the `<style>` elements xterm.js makes (no
 * inline style otherwise, no inline script ever).
 */
export const CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; " +
  "img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; " +
  "frame-ancestors 'none'";

/** The page's policy: {@linkcode CONTENT_SECURITY_POLICY} with its style nonce. */
export function pagePolicy(styleNonce: string): string {
  return CONTENT_SECURITY_POLICY.replace(
    "style-src 'self'",
    `style-src 'self' 'nonce-${styleNonce}'`,
  );
}

/** Largest login form body read, in bytes. */
const LOGIN_BODY_MAX_BYTES = 4096;

/** Where a console request came from. */
export type WebTransport =
  | { kind: "unix"; role: Role }
  | { kind: "tcp"; sessions: WebSessions };

const JAVASCRIPT = "text/javascript; charset=utf-8";
const CSS = "text/css; charset=utf-8";
const PAGE_PATHS = new Set(["/", "/index.html"]);

const ASSETS: ReadonlyMap<string, { body: string; type: string }> = new Map([
  ["/ui/app.js", { body: APP_JS, type: JAVASCRIPT }],
  ["/ui/console.js", { body: CONSOLE_JS, type: JAVASCRIPT }],
  ["/ui/style.css", { body: STYLE_CSS, type: CSS }],
  ["/ui/vendor/xterm.mjs", { body: XTERM_JS, type: JAVASCRIPT }],
  ["/ui/vendor/xterm.css", { body: XTERM_CSS, type: CSS }],
]);

/** Whether a path is the console's (not the API's). */
export function isWebConsolePath(pathname: string): boolean {
  return PAGE_PATHS.has(pathname) || pathname.startsWith("/ui/");
}

/** A static asset by path: the page (with a fresh style nonce), a script, a style sheet. */
async function assetOf(
  pathname: string,
): Promise<{ body: string; type: string; styleNonce?: string } | undefined> {
  if (PAGE_PATHS.has(pathname)) {
    const styleNonce = randomNonce();
    return { body: indexHtml(styleNonce), type: "text/html; charset=utf-8", styleNonce };
  }
  const asset = ASSETS.get(pathname);
  if (asset !== undefined) return asset;
  if (!pathname.startsWith(NOVNC_PREFIX)) return undefined;
  const source = await novncModule(pathname.slice(NOVNC_PREFIX.length));
  return source === undefined ? undefined : { body: source, type: JAVASCRIPT };
}

function randomNonce(): string {
  return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(18))));
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
  const asset = await assetOf(pathname);
  let response: Response;
  if (asset !== undefined) {
    const headers: Record<string, string> = {
      "content-type": asset.type,
      "cache-control": "no-cache",
    };
    if (asset.styleNonce !== undefined) {
      headers["content-security-policy"] = pagePolicy(asset.styleNonce);
    }
    response = request.method === "GET" || request.method === "HEAD"
      ? new Response(request.method === "HEAD" ? null : asset.body, { headers })
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
  // A WebSocket (a console) writes as much as a POST does: it must show the token too.
  const safe = (request.method === "GET" || request.method === "HEAD") &&
    !isWebSocketUpgrade(request);
  if (!safe && !WebSessions.csrfMatches(request, session)) {
    return {
      refusal: errorResponse(
        new VirtError(
          ErrorCode.OPERATION_DENIED,
          "a request made with the session cookie must carry its session's X-Evirt-CSRF header " +
            "(a WebSocket: the subprotocol evirt-csrf.TOKEN)",
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
  if (!headers.has("content-security-policy")) {
    headers.set("content-security-policy", CONTENT_SECURITY_POLICY);
  }
  headers.set("x-content-type-options", "nosniff");
  // Not `no-referrer`: with it a browser sends `Origin: null` on a form post, which the login refuses.
  headers.set("referrer-policy", "same-origin");
  headers.set("x-frame-options", "DENY");
  return new Response(response.body, { status: response.status, headers });
}
