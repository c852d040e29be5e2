/**
 * How many connections the service holds at once, and for how long an idle or half-sent one may
 * stay.
 *
 * Connections are counted in pools: one per role (read-write, read-only) and one for TCP
 * connections that have not yet shown a valid token. A pool that is full refuses the next
 * connection of its kind only, so read-only callers (the 0666 socket) can never take the slots of
 * read-write ones. Every pool is also held below the process's descriptor limit, in proportion to
 * its configured size, with a reserve left for the log, QEMU and its monitors, so a flood of
 * connections is refused before the process runs out of descriptors.
 *
 * @module
 */

/** The pools connections are counted in. */
export type ConnectionPool = "read-write" | "read-only" | "unauthenticated";

export { CONNECTION_LIMITS_DEFAULT, type ConnectionLimits } from "../config/connection_settings.ts";
import type { ConnectionLimits } from "../config/connection_settings.ts";

/** Descriptors always left for everything but connections (log, QEMU, monitors, files). */
export const DESCRIPTORS_RESERVED_MIN = 64;
/** Share of the descriptor limit left for everything but connections. */
const DESCRIPTORS_RESERVED_SHARE = 0.25;

/** A slot held by one connection; releasing twice is harmless. */
export interface ConnectionSlot {
  readonly pool: ConnectionPool;
  release(): void;
}

/**
 * Counts connections per pool against the limits.
 *
 * @example
 * ```ts
 * import { ConnectionGate } from "./connection_limits.ts";
 * const gate = new ConnectionGate({ "read-write": 1, "read-only": 1, unauthenticated: 1 });
 * const slot = gate.acquire("read-only");
 * console.log(slot !== undefined, gate.acquire("read-only")); // true undefined
 * slot?.release();
 * ```
 */
export class ConnectionGate {
  readonly #capacity: Record<ConnectionPool, number>;
  readonly #held: Record<ConnectionPool, number> = {
    "read-write": 0,
    "read-only": 0,
    unauthenticated: 0,
  };
  #refused = 0;

  /**
   * @param capacity Connections each pool may hold.
   */
  constructor(capacity: Record<ConnectionPool, number>) {
    for (const [pool, max] of Object.entries(capacity)) {
      if (!Number.isInteger(max) || max < 1) {
        throw new RangeError(`Capacity of pool ${pool} must be a positive integer, got ${max}`);
      }
    }
    this.#capacity = { ...capacity };
  }

  /** A slot in `pool`, or undefined when the pool is full (counted as refused). */
  acquire(pool: ConnectionPool): ConnectionSlot | undefined {
    if (this.#held[pool] >= this.#capacity[pool]) {
      this.#refused++;
      return undefined;
    }
    this.#held[pool]++;
    let released = false;
    return {
      pool,
      release: () => {
        if (released) return;
        released = true;
        this.#held[pool]--;
      },
    };
  }

  /** Connections held now, per pool. */
  get held(): Readonly<Record<ConnectionPool, number>> {
    return { ...this.#held };
  }

  /** Connections each pool may hold. */
  get capacity(): Readonly<Record<ConnectionPool, number>> {
    return { ...this.#capacity };
  }

  /** Connections refused because their pool was full, since start. */
  get refused(): number {
    return this.#refused;
  }
}

/**
 * The pools' capacities: the configured maxima, scaled down when the descriptor limit cannot hold
 * them all beside the reserve. Read-write callers keep up to half of what is available whatever
 * the other pools are configured to; the rest is shared by the others in proportion to their
 * configured sizes. Each pool keeps at least one slot.
 *
 * @param limits The configured maxima.
 * @param descriptorsMax The process's descriptor limit (soft `RLIMIT_NOFILE`), if known.
 * @example
 * ```ts
 * import { CONNECTION_LIMITS_DEFAULT, poolCapacities } from "./connection_limits.ts";
 * const capacity = poolCapacities(CONNECTION_LIMITS_DEFAULT, 1024);
 * console.log(capacity["read-write"], capacity["read-only"]); // 256 481
 * ```
 */
export function poolCapacities(
  limits: ConnectionLimits,
  descriptorsMax: number | undefined,
): Record<ConnectionPool, number> {
  const configured: Record<ConnectionPool, number> = {
    "read-write": limits.readWriteMax,
    "read-only": limits.readOnlyMax,
    unauthenticated: limits.unauthenticatedMax,
  };
  if (descriptorsMax === undefined) return configured;
  const reserved = Math.max(
    DESCRIPTORS_RESERVED_MIN,
    Math.ceil(descriptorsMax * DESCRIPTORS_RESERVED_SHARE),
  );
  const available = Math.max(0, descriptorsMax - reserved);
  const total = limits.readWriteMax + limits.readOnlyMax + limits.unauthenticatedMax;
  if (total <= available) return configured;
  const readWrite = Math.max(1, Math.min(limits.readWriteMax, Math.floor(available / 2)));
  const rest = Math.max(0, available - readWrite);
  const others = limits.readOnlyMax + limits.unauthenticatedMax;
  const share = (max: number) => Math.max(1, Math.min(max, Math.floor(rest * max / others)));
  return {
    "read-write": readWrite,
    "read-only": share(limits.readOnlyMax),
    unauthenticated: share(limits.unauthenticatedMax),
  };
}

/**
 * The soft limit on open descriptors of this process (Linux `/proc/self/limits`), or undefined
 * where it cannot be read.
 */
export function descriptorLimit(): number | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync("/proc/self/limits");
  } catch {
    return undefined;
  }
  const match = /^Max open files\s+(\d+|unlimited)\s/m.exec(text);
  if (match === null || match[1] === "unlimited") return undefined;
  return Number(match[1]);
}
