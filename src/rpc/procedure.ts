/**
 * The shape of one row of the dispatch table: a libvirt API name, its procedure number, whether
 * a read-only connection may call it, its argument and return XDR types, and its handler. Rows
 * are keyed by the libvirt API name (e.g. `virDomainCreateWithFlags`), the same key as the
 * operations table's, so the two can be joined.
 *
 * @module
 */

import type { EventObjectKind } from "./object_events.ts";
import type { WireDomain } from "./protocol.ts";
import type { RpcTarget } from "./rpc_target.ts";
import type { XdrType } from "./xdr.ts";

/**
 * A console (or other) byte stream a procedure hands to its connection. The connection calls
 * `write`, `writeHole` and `finish` one at a time, in the order the client sent them, each
 * after the one before has settled.
 */
export interface StreamSource {
  /**
   * Reads the next chunk; a number is a hole of that many bytes (sent as a hole message: only
   * for a client that asked for a sparse stream); null at the end. Rejects when the stream fails.
   * Absent: the stream only receives (an upload).
   */
  read?(): Promise<Uint8Array | number | null>;
  /** Writes bytes the client sent; rejects when they cannot be written. */
  write(bytes: Uint8Array): Promise<void>;
  /** Takes a hole the client sent; absent: the stream takes no holes (an RPC error). */
  writeHole?(lengthBytes: number): Promise<void>;
  /**
   * The client's finish: resolves once what it sent is written (absent: at once); a rejection
   * is the stream's error answer.
   */
  finish?(): Promise<void>;
  /** Releases the stream (without a finish: abandons what was written); idempotent. */
  close(): void;
}

/** What a handler can reach of its connection. */
export interface CallContext {
  /** Whether the connection came in on the read-only socket or asked for read-only access. */
  readonly readOnly: boolean;
  /** The serial of the call being answered (streams are keyed by it). */
  readonly serial: number;
  /**
   * The opened target.
   *
   * @throws {VirtError} INTERNAL_ERROR "connection not open" before `CONNECT_OPEN`.
   */
  target(): RpcTarget;
  /** Opens the connection's target (`CONNECT_OPEN`). */
  open(name: string | null, flags: number): Promise<void>;
  /** Closes the connection's target (`CONNECT_CLOSE`). */
  close(): Promise<void>;
  /** Registers an event callback; returns its id. */
  registerEvent(eventId: number, domainUuid: string | null, withCallbackId: boolean): number;
  /**
   * Registers a new-style callback for one domain another host of the fleet owns: its events
   * come from the fleet event stream (`fleet_calls.ts`). Resolves with its id once no event
   * appended from then on can be missed.
   */
  registerElsewhere(eventId: number, domain: WireDomain): Promise<number>;
  /** Removes an event callback by id (new style) or by event id (old style). */
  deregisterEvent(id: number, withCallbackId: boolean): void;
  /**
   * Registers a storage pool or network event callback (one object's uuid, or null: every
   * object of the kind); its id.
   */
  registerObjectEvent(kind: EventObjectKind, eventId: number, uuid: string | null): number;
  /** Removes a storage pool or network event callback by id. */
  deregisterObjectEvent(kind: EventObjectKind, callbackId: number): void;
  /** Starts a stream on this call's serial once the reply is sent. */
  startStream(source: StreamSource): void;
  /**
   * Aborted when the client's connection ends (a migration step waits on it: its client gone,
   * the migration is settled). Absent: a call another host of the fleet carried here.
   */
  readonly ended?: AbortSignal;
}

/** One row of the dispatch table. */
export interface Procedure {
  /** The procedure number of the remote program. */
  proc: number;
  /** Whether a read-only connection may call it (false: answers code 29 naming the API). */
  readOnly: boolean;
  /** Whether it may be called before `CONNECT_OPEN`. */
  beforeOpen?: boolean;
  /**
   * Answered by this host even when another host of the fleet owns the domain it names (a
   * migration's confirm: the destination owns the domain by then), never carried there.
   */
  local?: boolean;
  args: XdrType;
  ret: XdrType;
  /** Runs the call; its result is encoded as `ret`. */
  // deno-lint-ignore no-explicit-any
  handler: (args: any, context: CallContext) => unknown | Promise<unknown>;
}

/** Rows keyed by libvirt API name. */
export type ProcedureTable = Readonly<Record<string, Procedure>>;
