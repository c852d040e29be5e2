/**
 * The two sides of a stream carried between hosts over NATS (`fleet_streams.ts`): the messages
 * (a kind byte, then data, a hole, the end, an error, an acknowledgement, the finish, the close or
 * a ping), the window each direction keeps, the pings and the silence watch
 * ({@linkcode StreamLink}), and the caller's side as a stream source ({@linkcode CarriedSource}).
 *
 * Bounds: each direction holds at most {@linkcode STREAM_WINDOW_BYTES} unacknowledged bytes and
 * {@linkcode HELD_MESSAGES_MAX} messages; a sender waits at most
 * {@linkcode STREAM_CREDIT_WAIT_MS} for room; a side that heard nothing for
 * {@linkcode STREAM_SILENCE_MS} ends the stream.
 *
 * @module
 */

import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { ErrorCode, type ErrorCodeValue, isVirtError, VirtError } from "../model/errors.ts";
import type { StreamSource } from "../rpc/procedure.ts";

/** Unacknowledged bytes one direction of a carried stream may hold. */
export const STREAM_WINDOW_BYTES = 256 * 1024;
/** Longest wait of a sender for the receiver's acknowledgement, in ms. */
export const STREAM_CREDIT_WAIT_MS = 30_000;
/** How often each side of a carried stream says it is there, in ms. */
export const STREAM_PING_MS = 2_000;
/** Silence after which a side ends the stream, in ms. */
export const STREAM_SILENCE_MS = 10_000;
/** Largest data message, in bytes (well below any NATS server's message bound). */
const FRAME_DATA_MAX_BYTES = 32 * 1024;
/**
 * Messages a receiver holds (data within the window, holes and ends beside it): a peer that
 * sends more breaks the protocol and the stream ends.
 */
export const HELD_MESSAGES_MAX = 4096;
/** Bytes a receiver takes before it acknowledges them. */
const ACK_BYTES = STREAM_WINDOW_BYTES / 4;

/** The kinds of a carried stream's messages (their first byte). */
export const Frame = {
  DATA: 1,
  HOLE: 2,
  END: 3,
  ERROR: 4,
  ACK: 5,
  FINISH: 6,
  FINISHED: 7,
  CLOSE: 8,
  PING: 9,
} as const;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function frame(kind: number, payload: Uint8Array = new Uint8Array()): Uint8Array {
  const bytes = new Uint8Array(1 + payload.length);
  bytes[0] = kind;
  bytes.set(payload, 1);
  return bytes;
}

export function numberFrame(kind: number, value: number): Uint8Array {
  const payload = new Uint8Array(8);
  new DataView(payload.buffer).setFloat64(0, value);
  return frame(kind, payload);
}

export function numberOf(payload: Uint8Array): number {
  return new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getFloat64(0);
}

export function errorFrame(error: unknown): Uint8Array {
  const failure = isVirtError(error)
    ? error
    : new VirtError(ErrorCode.SYSTEM_ERROR, (error as Error).message);
  return frame(
    Frame.ERROR,
    encoder.encode(JSON.stringify({ code: failure.code, message: failure.message })),
  );
}

function errorOf(payload: Uint8Array): VirtError {
  try {
    const { code, message } = JSON.parse(decoder.decode(payload)) as {
      code: number;
      message: string;
    };
    return new VirtError(code as ErrorCodeValue, message);
  } catch {
    return new VirtError(ErrorCode.RPC, "a carried stream sent an unreadable error");
  }
}

/**
 * One side of a carried stream: sends on one subject, receives on the other, with the window,
 * the pings and the silence watch both sides share.
 */
export class StreamLink {
  readonly #connection: NatsConnection;
  readonly #sendSubject: string;
  readonly #subscription: Subscription;
  readonly #onFrame: (kind: number, payload: Uint8Array) => void;
  readonly #onSilence: () => void;
  #lastHeardMs = Date.now();
  #ticker: ReturnType<typeof setInterval> | undefined;
  /** Bytes sent the receiver has not acknowledged. */
  #unackedBytes = 0;
  #creditWaiter: (() => void) | undefined;
  /** Bytes received and taken that were not acknowledged yet. */
  #takenBytes = 0;
  /** Bytes received and not taken yet. */
  #heldBytes = 0;
  #closed = false;

  constructor(
    connection: NatsConnection,
    sendSubject: string,
    receiveSubject: string,
    handlers: { frame: (kind: number, payload: Uint8Array) => void; silence: () => void },
  ) {
    this.#connection = connection;
    this.#sendSubject = sendSubject;
    this.#onFrame = handlers.frame;
    this.#onSilence = handlers.silence;
    this.#subscription = connection.subscribe(receiveSubject, {
      callback: (error, message) => {
        if (error !== null || this.#closed) return;
        this.#lastHeardMs = Date.now();
        const data = message.data;
        if (data.length === 0) return;
        const payload = data.subarray(1);
        switch (data[0]) {
          case Frame.PING:
            return;
          case Frame.ACK:
            this.#unackedBytes = Math.max(0, this.#unackedBytes - numberOf(payload));
            this.#creditWaiter?.();
            return;
          case Frame.DATA:
            this.#heldBytes += payload.length;
            if (this.#heldBytes > STREAM_WINDOW_BYTES) {
              // The other side ignored the window: the bound holds, the stream ends.
              this.#onFrame(
                Frame.ERROR,
                errorFrame(
                  new VirtError(ErrorCode.RPC, "a carried stream sent more than its window"),
                ).subarray(1),
              );
              return;
            }
        }
        this.#onFrame(data[0], payload);
      },
    });
  }

  /** Starts the pings and the silence watch. */
  start(): void {
    this.#lastHeardMs = Date.now();
    this.#ticker ??= setInterval(() => {
      if (Date.now() - this.#lastHeardMs > STREAM_SILENCE_MS) {
        this.#onSilence();
        return;
      }
      this.send(frame(Frame.PING));
    }, STREAM_PING_MS);
  }

  send(bytes: Uint8Array): void {
    if (this.#closed) return;
    try {
      this.#connection.publish(this.#sendSubject, bytes);
    } catch {
      // The NATS connection is closing: the silence watch of the other side ends it there.
    }
  }

  /** Sends data within the window, waiting (bounded) for the receiver's acknowledgements. */
  async sendData(bytes: Uint8Array): Promise<void> {
    for (let offset = 0; offset < bytes.length; offset += FRAME_DATA_MAX_BYTES) {
      const piece = bytes.subarray(offset, offset + FRAME_DATA_MAX_BYTES);
      const deadline = Date.now() + STREAM_CREDIT_WAIT_MS;
      while (this.#unackedBytes + piece.length > STREAM_WINDOW_BYTES && this.#unackedBytes > 0) {
        if (this.#closed) throw new VirtError(ErrorCode.RPC, "the stream is closed");
        const left = deadline - Date.now();
        if (left <= 0) {
          throw new VirtError(
            ErrorCode.OPERATION_FAILED,
            "the stream's other side did not take its data in time",
          );
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(left, STREAM_PING_MS));
          this.#creditWaiter = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.#creditWaiter = undefined;
      }
      if (this.#closed) throw new VirtError(ErrorCode.RPC, "the stream is closed");
      this.#unackedBytes += piece.length;
      this.send(frame(Frame.DATA, piece));
    }
  }

  /** Records that `count` received bytes were taken, acknowledging them in batches. */
  taken(count: number): void {
    this.#heldBytes -= count;
    this.#takenBytes += count;
    if (this.#takenBytes >= ACK_BYTES || this.#heldBytes === 0) {
      this.send(numberFrame(Frame.ACK, this.#takenBytes));
      this.#takenBytes = 0;
    }
  }

  /** Stops the link (telling the other side when `notify`); idempotent. */
  close(notify: boolean): void {
    if (this.#closed) return;
    if (notify) this.send(frame(Frame.CLOSE));
    this.#closed = true;
    clearInterval(this.#ticker);
    this.#creditWaiter?.();
    try {
      this.#subscription.unsubscribe();
    } catch {
      // The NATS connection is already closed.
    }
  }
}

export function subjects(id: string) {
  return { down: `evirt.stream.${id}.down`, up: `evirt.stream.${id}.up` };
}

/**
 * The caller's side: a stream source whose bytes come from the owner. Frames that come before
 * the open call's answer are kept (the window bounds them).
 */
export class CarriedSource implements StreamSource {
  readonly #link: StreamLink;
  readonly #owner: string;
  readonly #queue: (Uint8Array | number | null)[] = [];
  #failure: VirtError | undefined;
  #ended = false;
  #wake: (() => void) | undefined;
  #finished: { resolve: () => void; reject: (error: VirtError) => void } | undefined;

  readonly #onEnded: () => void;

  /** @param onEnded Called once when the stream ended, whichever side ended it. */
  constructor(connection: NatsConnection, id: string, owner: string, onEnded: () => void) {
    this.#owner = owner;
    this.#onEnded = onEnded;
    const { down, up } = subjects(id);
    this.#link = new StreamLink(connection, up, down, {
      frame: (kind, payload) => this.#received(kind, payload),
      silence: () =>
        this.#fail(
          new VirtError(
            ErrorCode.SYSTEM_ERROR,
            `host '${owner}', which owns this domain, stopped answering on its stream`,
          ),
          false,
        ),
    });
  }

  start(): void {
    this.#link.start();
  }

  #received(kind: number, payload: Uint8Array): void {
    if (this.#queue.length >= HELD_MESSAGES_MAX) {
      this.#fail(new VirtError(ErrorCode.RPC, "a carried stream sent too many messages"), true);
      return;
    }
    switch (kind) {
      case Frame.DATA:
        this.#queue.push(payload.slice());
        break;
      case Frame.HOLE:
        this.#queue.push(numberOf(payload));
        break;
      case Frame.END:
        this.#queue.push(null);
        break;
      case Frame.FINISHED:
        this.#finished?.resolve();
        this.#finished = undefined;
        break;
      case Frame.ERROR:
        this.#fail(errorOf(payload), true);
        return;
      case Frame.CLOSE:
        this.#fail(undefined, false);
        return;
    }
    this.#wake?.();
  }

  /** Ends the stream: with `failure` its reads and writes reject; without, reads end. */
  #fail(failure: VirtError | undefined, notify: boolean): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#onEnded();
    this.#failure = failure;
    this.#link.close(notify);
    this.#finished?.reject(
      failure ?? new VirtError(ErrorCode.RPC, `host '${this.#owner}' closed the stream`),
    );
    this.#finished = undefined;
    this.#wake?.();
  }

  async read(): Promise<Uint8Array | number | null> {
    while (this.#queue.length === 0 && !this.#ended) {
      await new Promise<void>((resolve) => this.#wake = resolve);
      this.#wake = undefined;
    }
    if (this.#queue.length > 0) {
      const next = this.#queue.shift()!;
      if (next instanceof Uint8Array) this.#link.taken(next.length);
      return next;
    }
    if (this.#failure !== undefined) throw this.#failure;
    return null;
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (this.#ended) {
      throw this.#failure ?? new VirtError(ErrorCode.RPC, "the stream is closed");
    }
    await this.#link.sendData(bytes);
  }

  finish(): Promise<void> {
    if (this.#ended) {
      return Promise.reject(this.#failure ?? new VirtError(ErrorCode.RPC, "the stream is closed"));
    }
    if (this.#finished !== undefined) {
      return Promise.reject(new VirtError(ErrorCode.RPC, "the stream is already finishing"));
    }
    // Bounded on its own: an owner that keeps pinging but never confirms ends the wait too.
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#finished = undefined;
        reject(
          new VirtError(
            ErrorCode.SYSTEM_ERROR,
            `the owning host did not confirm the stream's end within ${STREAM_CREDIT_WAIT_MS} ms`,
          ),
        );
      }, STREAM_CREDIT_WAIT_MS);
      this.#finished = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.#link.send(frame(Frame.FINISH));
    });
  }

  close(): void {
    this.#queue.length = 0;
    this.#fail(undefined, true);
  }
}
