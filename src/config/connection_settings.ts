/**
 * The connection limits a listener enforces, as configuration: the settings live with the rest of
 * the configuration (below the API in the layers); `src/api/connection_limits.ts` enforces them.
 *
 * @module
 */

/** The connection limits (see the README's configuration table for the variables). */
export interface ConnectionLimits {
  /** Connections of read-write callers at once (`EVIRT_CONNECTIONS_READ_WRITE_MAX`). */
  readWriteMax: number;
  /** Connections of read-only callers at once (`EVIRT_CONNECTIONS_READ_ONLY_MAX`). */
  readOnlyMax: number;
  /** TCP connections before a valid token (`EVIRT_CONNECTIONS_UNAUTHENTICATED_MAX`). */
  unauthenticatedMax: number;
  /** How long a request head may take to arrive in full, in ms (`EVIRT_HEADER_TIMEOUT_MS`). */
  headerTimeoutMs: number;
  /**
   * How long a connection may sit without a request, or a request body or response without
   * progress, in ms (`EVIRT_IDLE_TIMEOUT_MS`).
   */
  idleTimeoutMs: number;
  /** Largest request line plus headers, in bytes (`EVIRT_REQUEST_HEAD_MAX_BYTES`). */
  headMaxBytes: number;
}

/** The documented defaults. */
export const CONNECTION_LIMITS_DEFAULT: ConnectionLimits = {
  readWriteMax: 256,
  readOnlyMax: 1024,
  unauthenticatedMax: 64,
  headerTimeoutMs: 10_000,
  idleTimeoutMs: 60_000,
  headMaxBytes: 65_536,
};
