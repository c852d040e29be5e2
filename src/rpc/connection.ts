/**
 * One client connection of libvirt's protocol: reads packets, answers keepalive pings,
 * dispatches calls through the procedure table (several at once, replies matched by serial),
 * relays domain events from the log's tail, and carries streams (consoles, volume uploads and
 * downloads, holes of sparse streams as their own messages).
 *
 * Bounds: calls in flight (the socket is not read while they are at the maximum, so a client
 * cannot queue unbounded work), bytes waiting to be written (an event subscriber whose queue
 * stays full for the stall time is disconnected, as a stalled SSE subscriber is dropped), and
 * the framing limits of `packet.ts`, and stream bytes the client sent that are not yet written
 * (the socket is not read while they are at their bound). Input that breaks framing closes this connection with a
 * logged reason; a bad call gets an error reply; neither touches anything else.
 *
 * This file is over 400 lines because the connection's read loop, write queue, event relay and
 * streams share its state and lifetime; splitting them would mean passing that state around.
 *
 * @module
 */

import type { Host } from "../../actors/host.ts";
import { POOL_EVENT_LIFECYCLE, POOL_EVENT_REFRESH, poolEventsOf } from "./storage_events.ts";
import { NETWORK_EVENT_LIFECYCLE, networkEventsOf } from "./network_events.ts";
import {
  SECRET_EVENT_LIFECYCLE,
  SECRET_EVENT_VALUE_CHANGED,
  secretEventsOf,
} from "./secret_events.ts";
import type { EventObjectKind, ObjectEvent } from "./object_events.ts";
import { ErrorCode, isVirtError, VirtError } from "../model/errors.ts";
import { PositionPrunedError } from "../log/errors.ts";
import type { HubEntry } from "../projections/event_hub.ts";
import { CONNECT_READ_ONLY } from "./connect_procedures.ts";
import { QEMU_PROGRAM, QEMU_PROTOCOL_VERSION } from "./qemu_procedures.ts";
import { wireDomain } from "./domain_lookup.ts";
import {
  callbackPacket,
  type EncodedEvent,
  encodedEvents,
  EVENT_ID_MAX,
} from "./event_messages.ts";
import { encodePacket, FramingError, PacketReader } from "./packet.ts";
import { domainReferenceOf, STREAM_APIS } from "./fleet_calls.ts";
import { FleetEventFeed } from "./fleet_event_feed.ts";
import type { CallContext, Procedure, StreamSource } from "./procedure.ts";
import {
  ERROR_DOMAIN_QEMU,
  ERROR_DOMAIN_RPC,
  ERROR_LEVEL_ERROR,
  errorType,
  KEEPALIVE_PROGRAM,
  KEEPALIVE_PROTOCOL_VERSION,
  KeepaliveProc,
  type MessageHeader,
  MessageStatus,
  MessageType,
  REMOTE_PROGRAM,
  REMOTE_PROTOCOL_VERSION,
  STREAM_CHUNK_MAX_BYTES,
  uuidBytes,
  uuidText,
  type WireDomain,
} from "./protocol.ts";
import { openRpcTarget, type RpcTarget, type SharedService } from "./rpc_target.ts";
import { decodeXdr, encodeXdr, x, XdrError } from "./xdr.ts";
import { concatBytes } from "../model/byte_chunks.ts";

/** Limits of one connection. */
export interface ConnectionLimits {
  /** Calls being answered at once; the socket is not read beyond it. */
  callsInFlightMax: number;
  /** Bytes waiting to be written before events and streams wait for the client. */
  outgoingBytesMax: number;
  /** Event callbacks one connection may register. */
  eventCallbacksMax: number;
  /** Streams (consoles) open at once on one connection. */
  streamsMax: number;
}

/** Defaults of {@linkcode ConnectionLimits}. */
export const CONNECTION_LIMITS_DEFAULT: ConnectionLimits = {
  callsInFlightMax: 32,
  outgoingBytesMax: 8 * 1024 * 1024,
  eventCallbacksMax: 1024,
  streamsMax: 16,
};

/** Bytes read from the socket at once. */
const READ_CHUNK_BYTES = 65_536;
/** Hub entries taken per event batch. */
const EVENT_BATCH_MAX = 256;
/** How long replies or a stream may wait for a client that does not read, before it opened a target, in ms. */
const STREAM_STALL_MS_DEFAULT = 30_000;
/** Stream bytes received and not yet written, past which the socket is not read. */
const STREAM_BACKLOG_BYTES_MAX = 8 * 1024 * 1024;
/** A sparse stream's hole message body (`virNetStreamHole`). */
const streamHoleType = x.struct(["length", x.hyper], ["flags", x.uint]);
/** Most bytes gathered into one socket write. */
const WRITE_COALESCE_BYTES_MAX = 256 * 1024;
/** How often a full outgoing queue is looked at again, in ms. */
const DRAIN_POLL_MS = 10;

/** A stream of a call: its source, and what the client sent that is still being written. */
interface OpenStream {
  source: StreamSource;
  proc: number;
  /** The client's packets, applied one after the other. */
  chain: Promise<void>;
  /** Bytes in `chain` not yet written. */
  backlogBytes: number;
  /** Set once a write failed: later packets are dropped, the error was answered. */
  failed: boolean;
}

interface Registration {
  eventId: number;
  /** Only this domain's events (uuid), or every domain's. */
  uuid: string | null;
  /** The callback id for the new style; null for the old style. */
  callbackId: number | null;
  /** A domain another host owns: its events come from the fleet stream (`fleet_event_feed.ts`). */
  elsewhere?: WireDomain;
}

/** What a connection needs from the server. */
export interface ConnectionOptions {
  readOnly: boolean;
  service: SharedService;
  procedures: ReadonlyMap<number, { api: string; procedure: Procedure }>;
  /** The QEMU program's procedures (`qemu_protocol.x`), by number; absent: none served. */
  qemuProcedures?: ReadonlyMap<number, { api: string; procedure: Procedure }>;
  limits: ConnectionLimits;
  log: (message: string) => void;
  /** A short name for log lines (`ro#3`). */
  label: string;
}

/**
 * A connection. `run()` resolves when it has ended, whichever side ended it.
 *
 * @example
 * ```ts ignore
 * const connection = new RpcConnection(conn, options);
 * await connection.run();
 * ```
 */
export class RpcConnection {
  readonly #conn: Deno.Conn;
  readonly #options: ConnectionOptions;
  #readOnly: boolean;
  #target: RpcTarget | undefined;
  #opening = false;
  #closed = false;
  readonly #stop = new AbortController();
  #inFlight = 0;
  #slotFreed: (() => void) | undefined;
  readonly #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  #writing: Promise<void> | undefined;
  readonly #registrations = new Map<number, Registration>();
  /** Storage pool and network event callbacks: id → kind, event id and object (null: all). */
  readonly #objectRegistrations = new Map<
    number,
    { kind: EventObjectKind; eventId: number; uuid: string | null }
  >();
  readonly #objectUnsubscribe = new Map<EventObjectKind, () => void>();
  #nextCallbackId = 0;
  /** The async relay, while the connection catches up or waits for its client to read. */
  #relay: Promise<void> | undefined;
  /** The position of the last fact relayed (or passed over) to this connection. */
  #cursor = 0;
  /** Stops the hub's calls of the live relay. */
  #unlisten: (() => void) | undefined;
  readonly #streams = new Map<number, OpenStream>();
  /** Stream bytes received and not yet written, over every stream. */
  #streamBacklogBytes = 0;
  #backlogDrained: (() => void) | undefined;
  /** The fleet stream's reader while a callback waits for another host's domain. */
  #fleetFeed: Promise<FleetEventFeed> | undefined;

  /** @param conn The accepted socket. */
  constructor(conn: Deno.Conn, options: ConnectionOptions) {
    this.#conn = conn;
    this.#options = options;
    this.#readOnly = options.readOnly;
  }

  /** Whether the connection has ended. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Serves the connection until the client leaves or the connection is closed. */
  async run(): Promise<void> {
    const reader = new PacketReader();
    const buffer = new Uint8Array(READ_CHUNK_BYTES);
    try {
      while (!this.#closed) {
        // Bounded work per client: stop reading while its calls are at the maximum.
        while (this.#inFlight >= this.#options.limits.callsInFlightMax && !this.#closed) {
          await new Promise<void>((resolve) => this.#slotFreed = resolve);
        }
        // Nor while its unread replies are at their bound: a client that calls without reading
        // would otherwise grow the queue without limit. One that stays full is dropped.
        const stallMs = this.#target?.events.subscriberStallMs ?? STREAM_STALL_MS_DEFAULT;
        if (!await this.#waitForRoom(stallMs)) {
          this.#options.log(
            `rpc ${this.#options.label}: closing connection: replies unread for ${stallMs} ms`,
          );
          break;
        }
        // Nor while stream bytes wait to be written: an upload is paced by its disk.
        if (!await this.#waitForStreamBacklog(stallMs)) {
          this.#options.log(
            `rpc ${this.#options.label}: closing connection: stream data unwritten for ${stallMs} ms`,
          );
          break;
        }
        const count = await this.#conn.read(buffer);
        if (count === null) break;
        reader.push(buffer.slice(0, count));
        for (let packet = reader.next(); packet !== undefined; packet = reader.next()) {
          this.#handle(packet.header, packet.body);
          if (this.#closed) break;
        }
      }
    } catch (error) {
      if (error instanceof FramingError) {
        this.#options.log(`rpc ${this.#options.label}: closing connection: ${error.message}`);
      } else if (!this.#closed && !(error instanceof Deno.errors.BadResource)) {
        this.#options.log(
          `rpc ${this.#options.label}: connection failed: ${(error as Error).message}`,
        );
      }
    } finally {
      await this.close();
    }
  }

  /** Ends the connection: its streams, its event relay, its target, the socket. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stop.abort();
    this.#slotFreed?.();
    for (const { source } of this.#streams.values()) source.close();
    this.#streams.clear();
    this.#stopRelay();
    this.#dropCallbacks();
    try {
      this.#conn.close();
    } catch {
      // Already closed by the peer.
    }
    await this.#relay?.catch(() => {});
    await this.#target?.close();
  }

  #handle(header: MessageHeader, body: Uint8Array): void {
    if (header.prog === KEEPALIVE_PROGRAM) {
      this.#keepalive(header);
      return;
    }
    if (
      header.prog === QEMU_PROGRAM && this.#options.qemuProcedures !== undefined &&
      header.vers === QEMU_PROTOCOL_VERSION && header.type === MessageType.CALL
    ) {
      this.#call(header, body, this.#options.qemuProcedures);
      return;
    }
    if (header.prog !== REMOTE_PROGRAM) {
      this.#refuse(header, `cannot find program ${header.prog} version ${header.vers}`);
      return;
    }
    if (header.vers !== REMOTE_PROTOCOL_VERSION) {
      this.#refuse(
        header,
        `program version mismatch (actual ${header.vers}, expected ${REMOTE_PROTOCOL_VERSION})`,
      );
      return;
    }
    switch (header.type) {
      case MessageType.CALL:
        this.#call(header, body);
        return;
      case MessageType.STREAM:
      case MessageType.STREAM_HOLE:
        this.#streamPacket(header, body);
        return;
      default:
        this.#options.log(
          `rpc ${this.#options.label}: closing connection: unexpected message type ${header.type}`,
        );
        void this.close();
    }
  }

  #keepalive(header: MessageHeader): void {
    if (header.vers !== KEEPALIVE_PROTOCOL_VERSION || header.type !== MessageType.MESSAGE) return;
    if (header.proc !== KeepaliveProc.PING) return;
    this.#send({
      prog: KEEPALIVE_PROGRAM,
      vers: KEEPALIVE_PROTOCOL_VERSION,
      proc: KeepaliveProc.PONG,
      type: MessageType.MESSAGE,
      serial: 0,
      status: MessageStatus.OK,
    }, new Uint8Array());
  }

  /** A call to an unknown program or version: an error reply (only calls expect one). */
  #refuse(header: MessageHeader, message: string): void {
    if (header.type !== MessageType.CALL) return;
    this.#sendError(header, new VirtError(ErrorCode.RPC, message), ERROR_DOMAIN_RPC);
  }

  #call(
    header: MessageHeader,
    body: Uint8Array,
    procedures: ReadonlyMap<number, { api: string; procedure: Procedure }> = this.#options
      .procedures,
  ): void {
    const row = procedures.get(header.proc);
    if (row === undefined) {
      this.#sendError(
        header,
        new VirtError(ErrorCode.NO_SUPPORT, `unknown procedure: ${header.proc}`),
        ERROR_DOMAIN_RPC,
      );
      return;
    }
    const { api, procedure } = row;
    if (header.status !== MessageStatus.OK) {
      this.#sendError(
        header,
        new VirtError(ErrorCode.RPC, `unexpected message status ${header.status}`),
        ERROR_DOMAIN_RPC,
      );
      return;
    }
    if (this.#readOnly && !procedure.readOnly) {
      this.#sendError(
        header,
        new VirtError(ErrorCode.OPERATION_DENIED, `read only access prevents ${api}`),
        ERROR_DOMAIN_QEMU,
      );
      return;
    }
    let args: unknown;
    try {
      const decoded = decodeXdr(procedure.args, body);
      if (decoded.offset !== body.length) {
        throw new XdrError(`${body.length - decoded.offset} bytes after the arguments`);
      }
      args = decoded.value;
    } catch (error) {
      if (!(error instanceof XdrError)) throw error;
      this.#sendError(
        header,
        new VirtError(ErrorCode.RPC, `cannot decode arguments of ${api}: ${error.message}`),
        ERROR_DOMAIN_RPC,
      );
      return;
    }
    this.#inFlight++;
    // Only the remote program's calls are carried to another host (`fleet_calls.ts`).
    const forwardable = procedures === this.#options.procedures ? body : undefined;
    void this.#answer(header, api, procedure, args, forwardable).finally(() => {
      this.#inFlight--;
      const freed = this.#slotFreed;
      this.#slotFreed = undefined;
      freed?.();
    });
  }

  async #answer(
    header: MessageHeader,
    api: string,
    procedure: Procedure,
    args: unknown,
    forwardable?: Uint8Array,
  ): Promise<void> {
    let stream: StreamSource | undefined;
    const context = this.#context(header.serial, (source) => stream = source);
    try {
      const target = procedure.beforeOpen ? undefined : context.target();
      const fleet = forwardable === undefined || procedure.local === true
        ? undefined
        : target?.fleet;
      const reference = fleet === undefined ? undefined : domainReferenceOf(api, args);
      const owner = reference === undefined ? undefined : fleet!.ownerElsewhere(reference);
      const call = {
        uri: target?.uri ?? "",
        proc: header.proc,
        args: forwardable!,
        readOnly: this.#readOnly,
      };
      let body: Uint8Array;
      if (owner === undefined) {
        body = encodeXdr(procedure.ret, (await procedure.handler(args, context)) ?? null);
      } else if (STREAM_APIS.has(api) && fleet!.openStream !== undefined) {
        // The owner opens the stream; its bytes are carried between the hosts. The bound is
        // checked first: a refused open must not have ended another writer's console (--force).
        this.#refuseStreamOverLimit();
        const carried = await fleet!.openStream(owner, call);
        context.startStream(carried.source);
        body = carried.result;
      } else body = await fleet!.forward(owner, call);
      this.#send({ ...header, type: MessageType.REPLY, status: MessageStatus.OK }, body);
      if (stream !== undefined) this.#startStream(header, stream);
    } catch (error) {
      stream?.close();
      if (!isVirtError(error)) {
        this.#options.log(`rpc ${this.#options.label}: ${api} failed: ${(error as Error).stack}`);
      }
      const failure = isVirtError(error)
        ? error
        : new VirtError(ErrorCode.INTERNAL_ERROR, (error as Error).message);
      this.#sendError(header, failure, ERROR_DOMAIN_QEMU);
    }
  }

  #context(serial: number, onStream: (source: StreamSource) => void): CallContext {
    // deno-lint-ignore no-this-alias
    const connection = this;
    return {
      get readOnly() {
        return connection.#readOnly;
      },
      serial,
      ended: connection.#stop.signal,
      target() {
        if (connection.#target === undefined) {
          throw new VirtError(ErrorCode.INTERNAL_ERROR, "connection not open");
        }
        return connection.#target;
      },
      async open(name, flags) {
        if (connection.#target !== undefined || connection.#opening) {
          throw new VirtError(ErrorCode.INTERNAL_ERROR, "connection already open");
        }
        connection.#opening = true;
        try {
          const target = await openRpcTarget(name, connection.#options.service);
          if (connection.#closed) {
            await target.close();
            return;
          }
          connection.#target = target;
          if ((flags & CONNECT_READ_ONLY) !== 0) connection.#readOnly = true;
        } finally {
          connection.#opening = false;
        }
      },
      async close() {
        const target = connection.#target;
        connection.#stopRelay();
        connection.#dropCallbacks();
        connection.#target = undefined;
        await target?.close();
      },
      registerEvent: (eventId, uuid, withCallbackId) =>
        this.#register(eventId, uuid, withCallbackId),
      registerElsewhere: (eventId, domain) => this.#registerElsewhere(eventId, domain),
      deregisterEvent: (id, withCallbackId) => this.#deregister(id, withCallbackId),
      registerObjectEvent: (kind, eventId, uuid) => this.#registerObjectEvent(kind, eventId, uuid),
      deregisterObjectEvent: (kind, id) => this.#deregisterObjectEvent(kind, id),
      startStream: (source) => {
        try {
          connection.#refuseStreamOverLimit();
        } catch (error) {
          source.close();
          throw error;
        }
        onStream(source);
      },
    };
  }

  #register(
    eventId: number,
    uuid: string | null,
    withCallbackId: boolean,
    elsewhere?: WireDomain,
  ): number {
    if (!Number.isInteger(eventId) || eventId < 0 || eventId > EVENT_ID_MAX) {
      throw new VirtError(ErrorCode.INVALID_ARG, `unsupported event ID ${eventId}`, {
        where: "eventID",
      });
    }
    if (this.#registrations.size >= this.#options.limits.eventCallbacksMax) {
      throw new VirtError(
        ErrorCode.RESOURCE_BUSY,
        `at most ${this.#options.limits.eventCallbacksMax} event callbacks per connection`,
      );
    }
    if (!withCallbackId) {
      for (const registration of this.#registrations.values()) {
        if (registration.callbackId === null && registration.eventId === eventId) {
          throw new VirtError(ErrorCode.INTERNAL_ERROR, "domain event already registered");
        }
      }
    }
    const id = this.#nextCallbackId++;
    this.#registrations.set(id, {
      eventId,
      uuid,
      callbackId: withCallbackId ? id : null,
      ...(elsewhere === undefined ? {} : { elsewhere }),
    });
    this.#callbacksChanged(1);
    this.#startRelay();
    return id;
  }

  #deregister(id: number, withCallbackId: boolean): void {
    for (const [key, registration] of this.#registrations) {
      const matches = withCallbackId
        ? registration.callbackId === id
        : registration.callbackId === null && registration.eventId === id;
      if (matches) {
        this.#registrations.delete(key);
        this.#callbacksChanged(-1);
        if (registration.elsewhere !== undefined) this.#stopFleetFeedIfUnused();
        return;
      }
    }
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      withCallbackId ? `callback ${id} not registered` : `domain event ${id} not registered`,
    );
  }

  /** Where the events of each kind of object come from, and which event ids it has. */
  #eventSource(kind: EventObjectKind): {
    eventIds: readonly number[];
    api: string;
    subscribe: ((listener: (events: ObjectEvent[]) => void) => () => void) | undefined;
  } {
    if (kind === "pool") {
      const storage = this.#target?.storage;
      return {
        eventIds: [POOL_EVENT_LIFECYCLE, POOL_EVENT_REFRESH],
        api: "virConnectStoragePoolEventRegisterAny",
        subscribe: storage === undefined
          ? undefined
          : (listener) => storage.subscribe((applied) => listener(poolEventsOf(applied))),
      };
    }
    if (kind === "secret") {
      const secrets = this.#target?.secrets;
      return {
        eventIds: [SECRET_EVENT_LIFECYCLE, SECRET_EVENT_VALUE_CHANGED],
        api: "virConnectSecretEventRegisterAny",
        subscribe: secrets === undefined
          ? undefined
          : (listener) => secrets.onChange((change) => listener(secretEventsOf([change]))),
      };
    }
    const networks = this.#target?.networks;
    return {
      eventIds: [NETWORK_EVENT_LIFECYCLE],
      api: "virConnectNetworkEventRegisterAny",
      subscribe: networks === undefined
        ? undefined
        : (listener) => networks.subscribe((applied) => listener(networkEventsOf(applied))),
    };
  }

  #registerObjectEvent(kind: EventObjectKind, eventId: number, uuid: string | null): number {
    const source = this.#eventSource(kind);
    if (!source.eventIds.includes(eventId)) {
      throw new VirtError(ErrorCode.INVALID_ARG, `unsupported event ID ${eventId}`, {
        where: "eventID",
      });
    }
    const subscribe = source.subscribe;
    if (subscribe === undefined) throw new VirtError(ErrorCode.NO_SUPPORT, source.api);
    if (
      this.#registrations.size + this.#objectRegistrations.size >=
        this.#options.limits.eventCallbacksMax
    ) {
      throw new VirtError(
        ErrorCode.RESOURCE_BUSY,
        `at most ${this.#options.limits.eventCallbacksMax} event callbacks per connection`,
      );
    }
    const id = this.#nextCallbackId++;
    this.#objectRegistrations.set(id, { kind, eventId, uuid });
    this.#callbacksChanged(1);
    if (!this.#objectUnsubscribe.has(kind)) {
      this.#objectUnsubscribe.set(
        kind,
        subscribe((events) => this.#sendObjectEvents(kind, events)),
      );
    }
    return id;
  }

  #sendObjectEvents(kind: EventObjectKind, events: ObjectEvent[]): void {
    for (const event of events) {
      for (const [callbackId, registration] of this.#objectRegistrations) {
        if (registration.kind !== kind || registration.eventId !== event.eventId) continue;
        if (registration.uuid !== null && registration.uuid !== event.uuid) continue;
        // A client that does not read its events is dropped, as the domain relay does.
        if (this.#queuedBytes >= this.#options.limits.outgoingBytesMax) {
          this.#options.log(`rpc ${this.#options.label}: closing connection: event queue full`);
          void this.close();
          return;
        }
        this.#sendPacket(event.packet(callbackId));
      }
    }
  }

  #deregisterObjectEvent(kind: EventObjectKind, id: number): void {
    if (this.#objectRegistrations.get(id)?.kind !== kind) {
      throw new VirtError(ErrorCode.INVALID_ARG, `callback ${id} not registered`);
    }
    this.#objectRegistrations.delete(id);
    this.#callbacksChanged(-1);
    if ([...this.#objectRegistrations.values()].every((entry) => entry.kind !== kind)) {
      this.#objectUnsubscribe.get(kind)?.();
      this.#objectUnsubscribe.delete(kind);
    }
  }

  /**
   * A new-style callback for a domain another host owns: registered as any, and the fleet
   * stream's reader started (once per connection) before the id is answered.
   */
  async #registerElsewhere(eventId: number, domain: WireDomain): Promise<number> {
    const fleet = this.#target?.fleet;
    if (fleet?.followElsewhere === undefined) {
      throw new VirtError(ErrorCode.NO_SUPPORT, "this host reads no fleet event stream");
    }
    const id = this.#register(eventId, uuidText(domain.uuid), true, domain);
    // Counted as in place only once the reader's start is fixed (no event after it is missed).
    this.#callbacksChanged(-1);
    try {
      this.#fleetFeed ??= FleetEventFeed.start((signal) => fleet.followElsewhere!(signal), {
        wanted: (uuid) => {
          for (const registration of this.#registrations.values()) {
            if (registration.uuid === uuid && registration.elsewhere !== undefined) {
              return registration.elsewhere;
            }
          }
          return undefined;
        },
        deliver: (events) => this.#deliverElsewhere(events),
        failed: (error) => void this.#relayFailed(error),
      });
      await this.#fleetFeed;
    } catch (error) {
      this.#fleetFeed = undefined;
      // Dropped meanwhile: that took one off the count, which this one never added.
      if (!this.#registrations.delete(id)) this.#callbacksChanged(1);
      throw error;
    }
    // Balances the count even when it was dropped meanwhile (that took one off).
    this.#callbacksChanged(1);
    // Deregistered or closed while the reader started.
    this.#stopFleetFeedIfUnused();
    return id;
  }

  /** Sends events of another host's domain to the callbacks for that domain only. */
  async #deliverElsewhere(events: EncodedEvent[]): Promise<boolean> {
    const stallMs = this.#target?.events.subscriberStallMs ?? STREAM_STALL_MS_DEFAULT;
    if (!await this.#waitForRoom(stallMs)) {
      this.#options.log(
        `rpc ${this.#options.label}: closing connection: event queue full for ${stallMs} ms`,
      );
      await this.close();
    }
    if (this.#closed) return false;
    for (const event of events) {
      for (const registration of this.#registrations.values()) {
        if (registration.elsewhere === undefined || registration.uuid !== event.uuid) continue;
        if (registration.eventId !== event.eventId || registration.callbackId === null) continue;
        this.#sendPacket(callbackPacket(event, registration.callbackId));
      }
    }
    return true;
  }

  #stopFleetFeedIfUnused(): void {
    const feed = this.#fleetFeed;
    if (feed === undefined) return;
    const used = !this.#closed &&
      [...this.#registrations.values()].some((registration) => registration.elsewhere);
    if (used) return;
    this.#fleetFeed = undefined;
    feed.then((started) => started.stop(), () => {});
  }

  /** Every event callback of the connection is dropped (it closed, or its target did). */
  #dropCallbacks(): void {
    this.#callbacksChanged(-(this.#registrations.size + this.#objectRegistrations.size));
    this.#registrations.clear();
    this.#stopFleetFeedIfUnused();
    this.#clearObjectRegistrations();
  }

  /** Counts callbacks on the service's own host (not a connection's private test host). */
  #callbacksChanged(delta: number): void {
    if (delta !== 0 && this.#target?.hub === this.#options.service.hub) {
      this.#options.service.eventCallbacks?.(delta);
    }
  }

  #clearObjectRegistrations(): void {
    this.#objectRegistrations.clear();
    for (const unsubscribe of this.#objectUnsubscribe.values()) unsubscribe();
    this.#objectUnsubscribe.clear();
  }

  /**
   * Starts relaying the events after the hub's head: live, the hub calls {@linkcode #pump} as
   * facts arrive, which sends what its ring holds at once — no promise, timer or listener per
   * fact. The async {@linkcode #relayEvents} takes over while the client leaves its queue full
   * or the connection must read the log to catch up.
   */
  #startRelay(): void {
    if (this.#unlisten !== undefined || this.#relay !== undefined) return;
    const target = this.#target!;
    this.#cursor = target.hub.head;
    this.#unlisten = target.hub.listen(() => this.#pump(target));
  }

  #stopRelay(): void {
    this.#unlisten?.();
    this.#unlisten = undefined;
  }

  /** Sends what the hub's ring holds after the cursor, now (see {@linkcode #startRelay}). */
  #pump(target: RpcTarget): void {
    if (this.#relay !== undefined) return;
    if (this.#closed || this.#target !== target) {
      this.#stopRelay();
      return;
    }
    try {
      for (;;) {
        const batch = this.#queuedBytes >= this.#options.limits.outgoingBytesMax
          ? undefined
          : target.hub.entriesAfter(this.#cursor, EVENT_BATCH_MAX);
        if (batch === undefined) {
          this.#relay = this.#relayEvents(target);
          return;
        }
        if (batch.length === 0) return;
        this.#relayBatch(target, batch);
      }
    } catch (error) {
      void this.#relayFailed(error);
    }
  }

  /**
   * Follows the hub from the cursor until it is caught up, never faster than the client reads:
   * a queue that stays full for the subscriber stall time ends the connection, as the SSE
   * stream drops a stalled subscriber. Then the live relay goes on.
   */
  async #relayEvents(target: RpcTarget): Promise<void> {
    const { hub, events } = target;
    try {
      while (!this.#closed && this.#target === target) {
        if (!await this.#waitForRoom(events.subscriberStallMs)) {
          this.#options.log(
            `rpc ${this.#options.label}: closing connection: event queue full for ${events.subscriberStallMs} ms`,
          );
          await this.close();
          return;
        }
        const batch = await hub.batchAfter(this.#cursor, EVENT_BATCH_MAX);
        if (batch.length === 0) break;
        this.#relayBatch(target, batch);
      }
    } catch (error) {
      await this.#relayFailed(error);
    } finally {
      // A connection closed and reopened with CONNECT_CLOSE / CONNECT_OPEN starts a new relay.
      this.#relay = undefined;
    }
    // Facts that came while this ran woke no one: take them now.
    if (!this.#closed && this.#target === target) this.#pump(target);
  }

  #relayBatch(target: RpcTarget, batch: readonly HubEntry[]): void {
    for (const entry of batch) {
      if (entry.message === undefined || this.#registrations.size === 0) continue;
      const message = entry.message;
      const events = encodedEvents(entry, message, () => eventDomain(target.host, message.domain));
      for (const event of events) this.#deliver(event);
    }
    this.#cursor = batch[batch.length - 1].position;
  }

  async #relayFailed(error: unknown): Promise<void> {
    if (this.#closed) return;
    this.#options.log(
      `rpc ${this.#options.label}: closing connection: event relay failed: ${
        error instanceof PositionPrunedError
          ? "fell behind log retention"
          : (error as Error).message
      }`,
    );
    await this.close();
  }

  #deliver(event: EncodedEvent): void {
    for (const registration of this.#registrations.values()) {
      if (registration.eventId !== event.eventId) continue;
      if (registration.uuid !== null && registration.uuid !== event.uuid) continue;
      if (registration.callbackId === null) {
        if (event.legacyPacket !== undefined) this.#sendPacket(event.legacyPacket);
      } else {
        this.#sendPacket(callbackPacket(event, registration.callbackId));
      }
    }
  }

  /**
   * Refuses one more stream on this connection past its bound.
   *
   * @throws {VirtError} RESOURCE_BUSY (87) naming the bound.
   */
  #refuseStreamOverLimit(): void {
    if (this.#streams.size >= this.#options.limits.streamsMax) {
      throw new VirtError(
        ErrorCode.RESOURCE_BUSY,
        `at most ${this.#options.limits.streamsMax} streams per connection`,
      );
    }
  }

  /** Waits until the outgoing queue is below its bound; false when it stayed full too long. */
  async #waitForRoom(stallMs: number): Promise<boolean> {
    const deadline = Date.now() + stallMs;
    while (this.#queuedBytes >= this.#options.limits.outgoingBytesMax && !this.#closed) {
      if (Date.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
    }
    return true;
  }

  #startStream(header: MessageHeader, source: StreamSource): void {
    // Opening a stream can outlast the connection (a carried one waits on another host): one
    // that arrives after the close is released at once, never read into a closed connection.
    if (this.#closed) {
      source.close();
      return;
    }
    this.#streams.set(header.serial, {
      source,
      proc: header.proc,
      chain: Promise.resolve(),
      backlogBytes: 0,
      failed: false,
    });
    const read = source.read?.bind(source);
    if (read === undefined) return;
    const streamHeader = (status: number): MessageHeader => ({
      ...header,
      type: MessageType.STREAM,
      status,
    });
    void (async () => {
      try {
        for (;;) {
          // A client that stops reading its console is dropped like a stalled event subscriber.
          const stallMs = this.#target?.events.subscriberStallMs ?? STREAM_STALL_MS_DEFAULT;
          if (!await this.#waitForRoom(stallMs)) {
            this.#options.log(
              `rpc ${this.#options.label}: closing connection: stream unread for ${stallMs} ms`,
            );
            await this.close();
            return;
          }
          const chunk = await read();
          if (!this.#streams.has(header.serial)) return;
          if (chunk === null) {
            // End of data is an empty data packet, as libvirtd sends it; the stream stays until
            // the client's finish, which is answered OK (`#streamPacket`).
            this.#send(streamHeader(MessageStatus.CONTINUE), new Uint8Array());
            return;
          }
          if (typeof chunk === "number") {
            if (chunk > 0) {
              this.#send(
                { ...header, type: MessageType.STREAM_HOLE, status: MessageStatus.CONTINUE },
                encodeXdr(streamHoleType, { length: BigInt(chunk), flags: 0 }),
              );
            }
            continue;
          }
          for (let offset = 0; offset < chunk.length; offset += STREAM_CHUNK_MAX_BYTES) {
            this.#send(
              streamHeader(MessageStatus.CONTINUE),
              chunk.subarray(offset, offset + STREAM_CHUNK_MAX_BYTES),
            );
          }
        }
      } catch (error) {
        if (!this.#streams.has(header.serial)) return;
        // A carried stream's owner that stopped answering keeps its code (38).
        const failure = new VirtError(
          isVirtError(error) ? error.code : ErrorCode.OPERATION_FAILED,
          `stream failed: ${(error as Error).message}`,
        );
        this.#send(streamHeader(MessageStatus.ERROR), this.#errorBody(failure, ERROR_DOMAIN_QEMU));
      }
      this.#streams.delete(header.serial);
      source.close();
    })();
  }

  /** Waits until the stream backlog is below its bound; false when it stayed full too long. */
  async #waitForStreamBacklog(stallMs: number): Promise<boolean> {
    if (this.#streamBacklogBytes < STREAM_BACKLOG_BYTES_MAX) return true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const drained = new Promise<boolean>((resolve) => {
      this.#backlogDrained = () => resolve(true);
      timer = setTimeout(() => resolve(false), stallMs);
    });
    try {
      return await drained || this.#streamBacklogBytes < STREAM_BACKLOG_BYTES_MAX;
    } finally {
      clearTimeout(timer);
      this.#backlogDrained = undefined;
    }
  }

  /**
   * A stream packet from the client: data, a hole, the finish or the abort. Data and holes are
   * applied in order, each after the one before; the finish is answered once they are written.
   */
  #streamPacket(header: MessageHeader, body: Uint8Array): void {
    const stream = this.#streams.get(header.serial);
    if (stream === undefined || stream.failed) return;
    const reply = (status: number, replyBody: Uint8Array) =>
      this.#send({ ...header, type: MessageType.STREAM, status }, replyBody);
    const fail = (error: unknown) => {
      if (stream.failed || !this.#streams.has(header.serial)) return;
      stream.failed = true;
      this.#streams.delete(header.serial);
      stream.source.close();
      const failure = isVirtError(error)
        ? error
        : new VirtError(ErrorCode.SYSTEM_ERROR, (error as Error).message);
      reply(MessageStatus.ERROR, this.#errorBody(failure, ERROR_DOMAIN_QEMU));
    };
    const apply = (step: () => Promise<void>, bytes: number) => {
      stream.backlogBytes += bytes;
      this.#streamBacklogBytes += bytes;
      stream.chain = stream.chain.then(step).catch(fail).finally(() => {
        stream.backlogBytes -= bytes;
        this.#streamBacklogBytes -= bytes;
        if (this.#streamBacklogBytes < STREAM_BACKLOG_BYTES_MAX) this.#backlogDrained?.();
      });
    };
    if (header.type === MessageType.STREAM_HOLE) {
      let length: number;
      try {
        const hole = decodeXdr(streamHoleType, body).value as { length: bigint };
        if (stream.source.writeHole === undefined) {
          throw new VirtError(ErrorCode.RPC, "Unexpected stream hole");
        }
        if (hole.length < 0n || hole.length > BigInt(Number.MAX_SAFE_INTEGER)) {
          throw new VirtError(ErrorCode.RPC, `stream hole of ${hole.length} bytes`);
        }
        length = Number(hole.length);
      } catch (error) {
        fail(error instanceof XdrError ? new VirtError(ErrorCode.RPC, error.message) : error);
        return;
      }
      apply(() => stream.source.writeHole!(length), 0);
      return;
    }
    if (header.status === MessageStatus.CONTINUE) {
      apply(() => stream.source.write(body), body.length);
      return;
    }
    if (header.status === MessageStatus.OK) {
      // The finish: answered once everything before it is written and the source agrees.
      apply(async () => {
        await stream.source.finish?.();
        if (stream.failed) return;
        this.#streams.delete(header.serial);
        stream.source.close();
        reply(MessageStatus.OK, new Uint8Array());
      }, 0);
      return;
    }
    this.#streams.delete(header.serial);
    stream.source.close();
    const aborted = new VirtError(ErrorCode.RPC, "stream aborted at client request");
    reply(MessageStatus.ERROR, this.#errorBody(aborted, ERROR_DOMAIN_RPC));
  }

  #errorBody(error: VirtError, domain: number): Uint8Array {
    return encodeXdr(errorType, {
      code: error.code,
      domain,
      message: error.fullMessage,
      level: ERROR_LEVEL_ERROR,
      dom: null,
      str1: error.fullMessage,
      str2: null,
      str3: null,
      int1: -1,
      int2: -1,
      net: null,
    });
  }

  #sendError(header: MessageHeader, error: VirtError, domain: number): void {
    this.#send(
      { ...header, type: MessageType.REPLY, status: MessageStatus.ERROR },
      this.#errorBody(error, domain),
    );
  }

  #send(header: MessageHeader, body: Uint8Array): void {
    this.#sendPacket(encodePacket(header, body));
  }

  /** Queues an encoded packet (shared packets are never modified). */
  #sendPacket(packet: Uint8Array): void {
    if (this.#closed) return;
    this.#queue.push(packet);
    this.#queuedBytes += packet.length;
    this.#writing ??= this.#drain();
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0 && !this.#closed) {
        // Coalesce what is queued into one write: a burst of events costs one syscall, not one
        // per message.
        let size = 0;
        let count = 0;
        while (count < this.#queue.length && size < WRITE_COALESCE_BYTES_MAX) {
          size += this.#queue[count++].length;
        }
        const packets = this.#queue.splice(0, count);
        const chunk = count === 1 ? packets[0] : concatBytes(packets, size);
        let written = 0;
        while (written < chunk.length) {
          written += await this.#conn.write(chunk.subarray(written));
        }
        this.#queuedBytes -= size;
      }
    } catch (error) {
      if (!this.#closed) {
        this.#options.log(
          `rpc ${this.#options.label}: closing connection: write failed: ${
            (error as Error).message
          }`,
        );
        await this.close();
      }
    } finally {
      this.#writing = undefined;
    }
  }
}

/** The domain an event names, with its current id (-1 once inactive or undefined). */
function eventDomain(host: Host, domain: { uuid: string; name: string }): WireDomain {
  try {
    return wireDomain(host.lookup(domain.uuid));
  } catch {
    return { name: domain.name, uuid: uuidBytes(domain.uuid), id: -1 };
  }
}
