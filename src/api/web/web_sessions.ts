/**
 * Sessions of the web console over TCP: a login with a bearer token makes one, named by an
 * HttpOnly, SameSite=Strict cookie (a browser's `EventSource` cannot send a bearer header), with
 * its own CSRF token that every mutating request made with the cookie must repeat in the
 * `X-Evirt-CSRF` header.
 *
 * A session keeps the SHA-256 digest of the token it was made with, never the token: it grants
 * its role only while that token is still configured (a reload that removes a token ends its
 * sessions). Sessions are bounded in number (the oldest is dropped) and in age.
 *
 * @module
 */

import { createHash, timingSafeEqual } from "node:crypto";
import type { Role } from "../api_context.ts";
import { offeredProtocols } from "../websocket_connection.ts";

/** The cookie naming a session. */
export const SESSION_COOKIE = "evirt_session";
/** The header a mutating request made with the cookie must carry. */
export const CSRF_HEADER = "x-evirt-csrf";
/**
 * The WebSocket subprotocol prefix that carries the CSRF token, as a browser's `WebSocket` can
 * send no header: `new WebSocket(url, ["evirt.v1", "evirt-csrf." + token])`.
 */
export const CSRF_PROTOCOL_PREFIX = "evirt-csrf.";
/** Sessions held at once; a login beyond it drops the oldest. */
export const SESSIONS_MAX = 1024;
/** A session's life from its login, in ms (12 hours). */
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;

/** A configured bearer token and its role (as the TCP listener has them). */
export interface SessionToken {
  role: Role;
  token: string;
}

/** One session. */
export interface Session {
  id: string;
  role: Role;
  csrf: string;
  /** SHA-256 of the token it was made with. */
  tokenDigest: Uint8Array;
  expiresMs: number;
}

/**
 * The sessions of one TCP listener.
 *
 * @example
 * ```ts
 * import { WebSessions } from "./web_sessions.ts";
 * const tokens = [{ role: "read-only" as const, token: "0123456789abcdef" }];
 * const sessions = new WebSessions(() => tokens);
 * const session = sessions.login("0123456789abcdef");
 * console.log(session?.role); // "read-only"
 * ```
 */
export class WebSessions {
  readonly #byId = new Map<string, Session>();
  readonly #tokens: () => SessionToken[];
  readonly #now: () => number;

  constructor(tokens: () => SessionToken[], now: () => number = Date.now) {
    this.#tokens = tokens;
    this.#now = now;
  }

  /** How many sessions are held. */
  get size(): number {
    return this.#byId.size;
  }

  /** A new session for a configured token, or undefined when the token is not one. */
  login(token: string): Session | undefined {
    const offered = tokenDigest(token);
    const role = this.#roleOf(offered);
    if (role === undefined) return undefined;
    this.#sweep();
    while (this.#byId.size >= SESSIONS_MAX) {
      const oldest = this.#byId.keys().next().value;
      if (oldest === undefined) break;
      this.#byId.delete(oldest);
    }
    const session: Session = {
      id: randomToken(),
      role,
      csrf: randomToken(),
      tokenDigest: offered,
      expiresMs: this.#now() + SESSION_TTL_MS,
    };
    this.#byId.set(session.id, session);
    return session;
  }

  /**
   * The live session a request's cookie names, with the role its token grants now; undefined
   * when there is no cookie, the session is unknown or expired, or its token was removed.
   */
  fromRequest(request: Request): Session | undefined {
    const id = cookieValue(request.headers.get("cookie"), SESSION_COOKIE);
    if (id === undefined) return undefined;
    const session = this.#byId.get(id);
    if (session === undefined) return undefined;
    if (session.expiresMs <= this.#now()) {
      this.#byId.delete(id);
      return undefined;
    }
    const role = this.#roleOf(session.tokenDigest);
    if (role === undefined) {
      this.#byId.delete(id);
      return undefined;
    }
    session.role = role;
    return session;
  }

  /** Ends a session. */
  logout(id: string): void {
    this.#byId.delete(id);
  }

  /**
   * Whether a request repeats its session's CSRF token (compared in constant time): in the
   * `X-Evirt-CSRF` header, or as a WebSocket subprotocol `evirt-csrf.TOKEN`.
   */
  static csrfMatches(request: Request, session: Session): boolean {
    const offered = offeredProtocols(request).find((item) => item.startsWith(CSRF_PROTOCOL_PREFIX));
    const given = request.headers.get(CSRF_HEADER) ??
      offered?.slice(CSRF_PROTOCOL_PREFIX.length) ?? null;
    if (given === null) return false;
    return timingSafeEqual(tokenDigest(given), tokenDigest(session.csrf));
  }

  /** Every configured token is compared, in constant time, as the bearer check does. */
  #roleOf(offered: Uint8Array): Role | undefined {
    let role: Role | undefined;
    for (const token of this.#tokens()) {
      if (timingSafeEqual(offered, tokenDigest(token.token)) && role === undefined) {
        role = token.role;
      }
    }
    return role;
  }

  #sweep(): void {
    const now = this.#now();
    for (const [id, session] of this.#byId) {
      if (session.expiresMs <= now) this.#byId.delete(id);
    }
  }
}

/** The `Set-Cookie` value naming a session (or clearing it when `id` is empty). */
export function sessionCookie(id: string, secure: boolean): string {
  const maxAge = id === "" ? 0 : Math.floor(SESSION_TTL_MS / 1000);
  return `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}` +
    (secure ? "; Secure" : "");
}

/** The value of one cookie in a `Cookie` header. */
export function cookieValue(header: string | null, name: string): string | undefined {
  if (header === null) return undefined;
  for (const part of header.split(";")) {
    const index = part.indexOf("=");
    if (index < 0) continue;
    if (part.slice(0, index).trim() === name) return part.slice(index + 1).trim();
  }
  return undefined;
}

function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** The SHA-256 digest of a token, as every token comparison uses. */
export function tokenDigest(text: string): Uint8Array {
  return new Uint8Array(createHash("sha256").update(text).digest());
}
