/**
 * Streams of another host's domains (a console, a screenshot), carried between the host a
 * client is connected to and the domain's owner over NATS, as the calls of
 * `fleet_call_forwarding.ts` are: the call that opens the stream travels as a forwarded call
 * naming a stream id; the owner runs it and keeps the stream source it opened; its bytes then
 * travel on `evirt.stream.<id>.down` (owner → caller) and `evirt.stream.<id>.up` (caller →
 * owner). One hop: the owner's own stream, with the owner's rules (one console writer, a
 * read-only connection refused, `force`).
 *
 * Bounds: each direction holds at most {@linkcode STREAM_WINDOW_BYTES} unacknowledged bytes (the
 * receiver acknowledges what its reader took, so a client that does not read stops the owner
 * reading the console, whose own bounded queue then ends the stream); a sender waiting longer
 * than {@linkcode STREAM_CREDIT_WAIT_MS} for room fails the stream. A host carries at most
 * {@linkcode CARRIED_STREAMS_MAX} streams for other hosts (more: code 87). Each side says it is
 * there every {@linkcode STREAM_PING_MS}; a side that heard nothing from the other for
 * {@linkcode STREAM_SILENCE_MS} ends the stream (on the caller's side with code 38: the owner
 * stopped answering). Closing either side closes the other. The messages and both sides' links
 * are `fleet_stream_link.ts`.
 *
 * @module
 */

import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { ErrorCode, type ErrorCodeValue, isVirtError, VirtError } from "../model/errors.ts";
import {
  CarriedSource,
  errorFrame,
  Frame,
  frame,
  HELD_MESSAGES_MAX,
  numberFrame,
  numberOf,
  StreamLink,
  subjects,
} from "./fleet_stream_link.ts";
import type { ForwardedCall } from "../rpc/fleet_calls.ts";
import type { StreamSource } from "../rpc/procedure.ts";
import { forwardCall } from "./fleet_call_forwarding.ts";
import { askOwner } from "./fleet_forwarding.ts";
import type { Host } from "../../actors/host.ts";
import type { SerialConsoles } from "../host/serial_consoles.ts";
import { consoleStream } from "../rpc/console_stream.ts";
import { type CarriedConsole, type ConsoleRequest, consoleWriter } from "../api/console_access.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Streams a host carries for other hosts at once. */
export const CARRIED_STREAMS_MAX = 64;

/** The subject a host answers console requests of other hosts on. */
function consoleSubject(host: string): string {
  return `evirt.console.${host}`;
}

/**
 * The streams a host carries: those its clients opened on other hosts' domains, and those
 * other hosts opened on its own.
 *
 * @example
 * ```ts ignore
 * const streams = new FleetStreams(connection, "east", 10_000);
 * const { result, source } = await streams.open("west", call);
 * ```
 */
export class FleetStreams {
  readonly #connection: NatsConnection;
  readonly #host: string;
  readonly #timeoutMs: number;
  /** Every open side of this host (caller's and owner's), closed with the host. */
  readonly #sides = new Set<{ close(): void }>();
  #carried = 0;

  /**
   * @param connection The host's NATS connection.
   * @param host This host's name.
   * @param timeoutMs Longest wait for the owner's answer to the call that opens a stream.
   */
  constructor(connection: NatsConnection, host: string, timeoutMs: number) {
    this.#connection = connection;
    this.#host = host;
    this.#timeoutMs = timeoutMs;
  }

  /**
   * Runs `call`, which opens a stream, on `owner`: its encoded result, and the stream as a
   * source of this host.
   *
   * @throws {VirtError} The owner's error; 38 when the owner does not answer.
   */
  open(
    owner: string,
    call: ForwardedCall,
  ): Promise<{ result: Uint8Array; source: StreamSource }> {
    return this.#open(
      owner,
      (id) => forwardCall(this.#connection, owner, { ...call, stream: id }, this.#timeoutMs),
    );
  }

  /**
   * Opens the serial console of domain `request.uuid` on `owner`, as the web console's socket
   * does there (the owner's rules: a read-only caller or `view` watches, one writer, `force`).
   *
   * @throws {VirtError} The owner's error; 38 when the owner does not answer.
   */
  async openConsole(owner: string, request: ConsoleRequest): Promise<CarriedConsole> {
    const { source } = await this.#open(owner, async (id) => {
      const answer = await askOwner<{ ok: true } | { code: number; message: string }>(
        this.#connection,
        consoleSubject(owner),
        owner,
        {
          text: JSON.stringify({ ...request, stream: id }),
          what: "request",
          timeoutMs: this.#timeoutMs,
        },
      );
      if ("code" in answer) throw new VirtError(answer.code as ErrorCodeValue, answer.message);
      return new Uint8Array();
    });
    return source;
  }

  /**
   * Answers the console requests of other hosts on this host's domains (see
   * {@linkcode openConsole}); stop it with `unsubscribe`.
   */
  serveConsoles(host: Host, consoles: SerialConsoles): Subscription {
    return this.#connection.subscribe(consoleSubject(this.#host), {
      callback: (error, message) => {
        if (error !== null) return;
        (async () => {
          let answer: { ok: true } | { code: number; message: string } = { ok: true };
          try {
            const request = JSON.parse(decoder.decode(message.data)) as ConsoleRequest & {
              stream: string;
            };
            const { uuid } = host.lookup(request.uuid);
            const path = host.consolePath(uuid, request.device);
            // Refused before the console is opened: a `--force` open ends another session.
            this.#refuseOverCarried();
            const source = await consoleStream(
              consoles,
              uuid,
              path,
              request.force === true,
              consoleWriter(request.role, request.view === true),
            );
            try {
              this.carry(String(request.stream), source);
            } catch (refusal) {
              source.close();
              throw refusal;
            }
          } catch (failure) {
            const error = isVirtError(failure)
              ? failure
              : new VirtError(ErrorCode.INTERNAL_ERROR, (failure as Error).message);
            answer = { code: error.code, message: error.message };
          }
          message.respond(encoder.encode(JSON.stringify(answer)));
        })();
      },
    });
  }

  /**
   * Refuses one more carried stream past {@linkcode CARRIED_STREAMS_MAX}.
   *
   * @throws {VirtError} RESOURCE_BUSY (87).
   */
  #refuseOverCarried(): void {
    if (this.#carried >= CARRIED_STREAMS_MAX) {
      throw new VirtError(
        ErrorCode.RESOURCE_BUSY,
        `host '${this.#host}' already carries ${CARRIED_STREAMS_MAX} streams for other hosts`,
      );
    }
  }

  async #open(
    owner: string,
    ask: (id: string) => Promise<Uint8Array>,
  ): Promise<{ result: Uint8Array; source: CarriedSource }> {
    const id = crypto.randomUUID();
    // Listening before the call goes: the owner's first bytes may follow its answer at once.
    const source: CarriedSource = new CarriedSource(
      this.#connection,
      id,
      owner,
      () => this.#sides.delete(source),
    );
    this.#sides.add(source);
    try {
      const result = await ask(id);
      source.start();
      return { result, source };
    } catch (error) {
      source.close();
      throw error;
    }
  }

  /**
   * Carries `source`, a stream this host opened for the call of another host naming stream
   * `id`, to that host. Called before the call's answer is sent.
   *
   * @throws {VirtError} Code 87 when {@linkcode CARRIED_STREAMS_MAX} streams are carried (the
   *   caller closes `source`).
   */
  carry(id: string, source: StreamSource): void {
    this.#refuseOverCarried();
    this.#carried++;
    let ended = false;
    let chain = Promise.resolve();
    /** Steps of `chain` not yet run (bounded: a caller's messages wait for the source). */
    let pending = 0;
    const step = (run: () => Promise<void>) => {
      if (++pending > HELD_MESSAGES_MAX) {
        end(false, new VirtError(ErrorCode.RPC, "a carried stream sent too many messages"));
        return;
      }
      chain = chain.then(async () => {
        if (!ended) await run();
      }).catch((error) => end(false, error)).finally(() => pending--);
    };
    const { down, up } = subjects(id);
    const end = (notify: boolean, failure?: unknown) => {
      if (ended) return;
      ended = true;
      this.#carried--;
      this.#sides.delete(entry);
      if (failure !== undefined) link.send(errorFrame(failure));
      link.close(notify && failure === undefined);
      source.close();
    };
    const entry = { close: () => end(true) };
    const link: StreamLink = new StreamLink(this.#connection, down, up, {
      frame: (kind, payload) => {
        switch (kind) {
          case Frame.DATA: {
            const bytes = payload.slice();
            step(async () => {
              await source.write(bytes);
              link.taken(bytes.length);
            });
            return;
          }
          case Frame.HOLE: {
            const length = numberOf(payload);
            step(async () => {
              if (source.writeHole === undefined) {
                throw new VirtError(ErrorCode.RPC, "Unexpected stream hole");
              }
              await source.writeHole(length);
            });
            return;
          }
          case Frame.FINISH:
            step(async () => {
              await source.finish?.();
              link.send(frame(Frame.FINISHED));
              end(false);
            });
            return;
          case Frame.ERROR:
          case Frame.CLOSE:
            end(false);
        }
      },
      silence: () => end(false),
    });
    this.#sides.add(entry);
    link.start();
    const read = source.read?.bind(source);
    if (read === undefined) return;
    void (async () => {
      try {
        while (!ended) {
          const chunk = await read();
          if (ended) return;
          if (chunk === null) {
            link.send(frame(Frame.END));
            return;
          }
          if (typeof chunk === "number") link.send(numberFrame(Frame.HOLE, chunk));
          else await link.sendData(chunk);
        }
      } catch (error) {
        end(false, error);
      }
    })();
  }

  /** Ends every stream this host carries or reads (the service stops). */
  close(): void {
    for (const entry of [...this.#sides]) entry.close();
  }
}
