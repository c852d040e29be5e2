/**
 * libvirt-protocol calls on another host's domains, carried out by their owner.
 *
 * A call whose arguments name a domain (`dom`, a snapshot's `snap.dom`, or the name or uuid of
 * `virDomainLookupByName`/`virDomainLookupByUUID`) that another host of the fleet owns is sent to
 * that host as is (its procedure number and XDR arguments, with the URI the client opened and
 * whether the connection is read-only); the owner runs the same procedure on the same view of
 * its host and its encoded answer (or error) is the client's answer. So `virsh domstate`,
 * `start`, `dumpxml`… on host A act on a domain host B owns, one hop at most.
 *
 * Streams: a call that opens one ({@linkcode STREAM_APIS}: `virsh console`, `screenshot`) is run
 * the same way, and the owner keeps the stream it opened; its bytes are carried both ways
 * between the two hosts (`service/fleet_streams.ts`), so the owner's rules hold (one console
 * writer, `--force`, read-only connections refused).
 *
 * Events: a callback registered for one domain another host owns
 * (`virConnectDomainEventCallbackRegisterAny` with a domain, `virsh event --domain`) gets that
 * domain's events from the fleet event stream ({@linkcode RpcFleet.followElsewhere}). A callback
 * for every domain keeps libvirt's per-host meaning: the domains of the host the client is
 * connected to (a libvirt client that registers for all domains expects the domains its
 * connection lists; the fleet's are `GET /v1/events?scope=fleet` / `evirt event --fleet`).
 *
 * What is not carried: calls naming a domain by id (an id only names a domain of this host),
 * the QEMU program's calls, old-style event registrations (they have no domain), and lists:
 * `virConnectListAllDomains` and the other lists answer with this host's domains exactly as
 * libvirt's per-host connection does (`evirt host list`/the fleet API show the fleet).
 *
 * @module
 */

import type { MigrationTuning } from "../../actors/driver_protocol.ts";
import type { Fact } from "../log/event_store.ts";
import type { ClientMigrationSteps } from "./migration_procedures.ts";
import { ErrorCode, VirtError } from "../model/errors.ts";
import type { CallContext, Procedure, StreamSource } from "./procedure.ts";
import { uuidText, type WireDomain } from "./protocol.ts";
import { openRpcTarget, type SharedService } from "./rpc_target.ts";
import { decodeXdr, encodeXdr, XdrError } from "./xdr.ts";

/** A call as it travels to the owner of the domain it names. */
export interface ForwardedCall {
  /** The URI the client opened (the owner opens the same view of its host). */
  uri: string;
  /** The procedure number of the remote program. */
  proc: number;
  /** The call's XDR arguments. */
  args: Uint8Array;
  readOnly: boolean;
  /** The id of the stream the call opens, when the caller carries it (see `fleet_streams.ts`). */
  stream?: string;
}

/** The calls that open a stream a host carries for a domain another host owns. */
export const STREAM_APIS: ReadonlySet<string> = new Set([
  "virDomainOpenConsole",
  "virDomainScreenshot",
]);

/** How RPC connections reach the fleet: the owner of a domain, and the way to it. */
export interface RpcFleet {
  /** The host owning the domain `reference` (name or uuid) names, when it is another host. */
  ownerElsewhere(reference: string): string | undefined;
  /**
   * Runs `call` on `owner`; its encoded result.
   *
   * @throws {VirtError} The owner's error, or code 38 when the owner did not answer.
   */
  forward(owner: string, call: ForwardedCall): Promise<Uint8Array>;
  /**
   * Runs `call`, which opens a stream, on `owner`: its encoded result and the stream, carried.
   *
   * @throws {VirtError} The owner's error, or code 38 when the owner did not answer.
   */
  openStream?(
    owner: string,
    call: ForwardedCall,
  ): Promise<{ result: Uint8Array; source: StreamSource }>;
  /**
   * The facts of the other hosts' domains from now on, in the fleet stream's order; resolves
   * once where they start is fixed (nothing appended after it is missed). Ends when `signal`
   * aborts.
   */
  followElsewhere?(signal: AbortSignal): Promise<AsyncIterable<Fact>>;
  /** Moves a running domain of this host to `target` (a live migration). */
  moveLive?(reference: string, target: string, tuning: MigrationTuning): Promise<unknown>;
  /** Moves a shut-off domain's definition and ownership to `target`. */
  moveOffline?(reference: string, target: string): Promise<unknown>;
  /** The steps of a client-driven live migration (`virsh migrate` without `--p2p`). */
  steps?: ClientMigrationSteps;
}

/** The domain a call's decoded arguments name, by uuid or name; undefined: none. */
export function domainReferenceOf(api: string, args: unknown): string | undefined {
  if (args === null || typeof args !== "object") return undefined;
  const fields = args as Record<string, unknown>;
  if (api === "virDomainLookupByName" && typeof fields.name === "string") return fields.name;
  if (api === "virDomainLookupByUUID" && fields.uuid instanceof Uint8Array) {
    return uuidText(fields.uuid);
  }
  // Event registrations stay on this host: its hub has only its own domains' events.
  if (api.startsWith("virConnect")) return undefined;
  const dom = (fields.dom ?? (fields.snap as { dom?: unknown } | undefined)?.dom) as
    | WireDomain
    | null
    | undefined;
  if (dom === null || dom === undefined || !(dom.uuid instanceof Uint8Array)) return undefined;
  return uuidText(dom.uuid);
}

/**
 * Runs a call forwarded by another host of the fleet, as a connection to `service` opened on
 * `call.uri` would; its encoded result.
 *
 * @throws {VirtError} The procedure's error; 39 (RPC) for an unknown procedure or arguments
 *   that do not decode; 29 for a read-write call from a read-only connection; 84 for a call that
 *   registers events, or opens a stream the caller does not carry (no `call.stream` or no `carry`).
 *
 * @param carry Takes the stream a call opened, before the answer goes (`fleet_streams.ts`).
 */
export async function runForwardedCall(
  service: SharedService,
  procedures: ReadonlyMap<number, { api: string; procedure: Procedure }>,
  call: ForwardedCall,
  host: string,
  carry?: (id: string, source: StreamSource) => void,
): Promise<Uint8Array> {
  const row = procedures.get(call.proc);
  if (row === undefined || row.procedure.beforeOpen) {
    throw new VirtError(ErrorCode.RPC, `procedure ${call.proc} is not carried between hosts`);
  }
  const { api, procedure } = row;
  if (call.readOnly && !procedure.readOnly) {
    throw new VirtError(ErrorCode.OPERATION_DENIED, `read only access prevents ${api}`);
  }
  let args: unknown;
  try {
    const decoded = decodeXdr(procedure.args, call.args);
    if (decoded.offset !== call.args.length) {
      throw new XdrError(`${call.args.length - decoded.offset} bytes after the arguments`);
    }
    args = decoded.value;
  } catch (error) {
    if (!(error instanceof XdrError)) throw error;
    throw new VirtError(ErrorCode.RPC, `cannot decode arguments of ${api}: ${error.message}`);
  }
  const target = await openRpcTarget(call.uri, service);
  let stream: StreamSource | undefined;
  const elsewhere = (what: string) =>
    new VirtError(
      ErrorCode.OPERATION_UNSUPPORTED,
      `${what} of a domain of host '${host}' are not carried between hosts: connect to '${host}'`,
    );
  const context: CallContext = {
    readOnly: call.readOnly,
    serial: 0,
    target: () => target,
    open: () => Promise.reject(new VirtError(ErrorCode.INTERNAL_ERROR, "connection already open")),
    close: () => Promise.resolve(),
    registerEvent: () => {
      throw elsewhere("events");
    },
    deregisterEvent: () => {
      throw elsewhere("events");
    },
    registerObjectEvent: () => {
      throw elsewhere("events");
    },
    registerElsewhere: () => {
      throw elsewhere("events");
    },
    deregisterObjectEvent: () => {
      throw elsewhere("events");
    },
    startStream: (source) => {
      stream = source;
    },
  };
  try {
    const result = await procedure.handler(args, context);
    const encoded = encodeXdr(procedure.ret, result ?? null);
    if (stream !== undefined) {
      if (call.stream === undefined || carry === undefined) throw elsewhere("streams");
      carry(call.stream, stream);
      stream = undefined;
    }
    return encoded;
  } finally {
    // A stream nobody carries is released (the call failed, or it is not carried).
    stream?.close();
    await target.close();
  }
}
