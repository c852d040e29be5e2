/**
 * A minimal client of libvirt's protocol for tests and benchmarks: raw packets over a unix
 * socket, replies matched by serial, other messages (events, keepalive, streams) collected.
 * Every wait is bounded.
 *
 * @module
 */

import { encodePacket, PacketReader } from "../../src/rpc/packet.ts";
import type { Packet } from "../../src/rpc/packet.ts";
import {
  errorType,
  type MessageHeader,
  MessageStatus,
  MessageType,
  REMOTE_PROGRAM,
  REMOTE_PROTOCOL_VERSION,
} from "../../src/rpc/protocol.ts";
import { RPC_PROCEDURES } from "../../src/rpc/procedures.ts";
import { decodeXdr, encodeXdr } from "../../src/rpc/xdr.ts";

/** Longest wait for a reply, in ms. */
export const RPC_REPLY_TIMEOUT_MS = 10_000;

/** Messages kept that are not replies. */
const MESSAGES_MAX = 100_000;

/** An error reply, decoded. */
export class RpcReplyError extends Error {
  /** @param code libvirt's error code. */
  constructor(readonly code: number, message: string) {
    super(message);
    this.name = "RpcReplyError";
  }
}

/** A connected test client. */
export class RpcTestClient {
  readonly #conn: Deno.UnixConn;
  readonly #reader = new PacketReader();
  readonly #waiting = new Map<number, (packet: Packet) => void>();
  #serial = 1;
  #closed = false;
  /** Messages other than replies (events, pongs, stream data), oldest first. */
  readonly messages: Array<Packet & { receivedAtMs: number }> = [];
  #onMessage: (() => void) | undefined;
  /** Resolves when the server closed the connection. */
  readonly ended: Promise<void>;

  private constructor(conn: Deno.UnixConn) {
    this.#conn = conn;
    this.ended = this.#readLoop();
  }

  /** Connects to a socket. */
  static async connect(path: string): Promise<RpcTestClient> {
    return new RpcTestClient(await Deno.connect({ transport: "unix", path }));
  }

  /** Whether the server closed the connection. */
  get closed(): boolean {
    return this.#closed;
  }

  async #readLoop(): Promise<void> {
    const buffer = new Uint8Array(65536);
    try {
      for (;;) {
        const count = await this.#conn.read(buffer);
        if (count === null) break;
        this.#reader.push(buffer.slice(0, count));
        for (let packet = this.#reader.next(); packet; packet = this.#reader.next()) {
          const waiter = packet.header.type === MessageType.REPLY
            ? this.#waiting.get(packet.header.serial)
            : undefined;
          if (waiter !== undefined) {
            this.#waiting.delete(packet.header.serial);
            waiter(packet);
          } else if (this.messages.length < MESSAGES_MAX) {
            this.messages.push({ ...packet, receivedAtMs: performance.now() });
            this.#onMessage?.();
          }
        }
      }
    } catch {
      // Closed under us.
    } finally {
      this.#closed = true;
      for (const waiter of this.#waiting.values()) {
        waiter({
          header: { prog: 0, vers: 0, proc: 0, type: -1, serial: 0, status: -1 },
          body: new Uint8Array(),
        });
      }
      this.#waiting.clear();
      this.#onMessage?.();
    }
  }

  /** Writes raw bytes (for malformed input). */
  async writeRaw(bytes: Uint8Array): Promise<void> {
    let written = 0;
    while (written < bytes.length) written += await this.#conn.write(bytes.subarray(written));
  }

  /** Sends a packet with the next serial and returns the reply packet. */
  async callRaw(
    header: Partial<MessageHeader>,
    body: Uint8Array,
  ): Promise<Packet> {
    const serial = this.#serial++;
    const reply = new Promise<Packet>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(serial);
        reject(new Error(`no reply to serial ${serial} within ${RPC_REPLY_TIMEOUT_MS} ms`));
      }, RPC_REPLY_TIMEOUT_MS);
      this.#waiting.set(serial, (packet) => {
        clearTimeout(timer);
        if (packet.header.type === -1) reject(new Error("connection closed"));
        else resolve(packet);
      });
    });
    await this.writeRaw(encodePacket({
      prog: REMOTE_PROGRAM,
      vers: REMOTE_PROTOCOL_VERSION,
      proc: 0,
      type: MessageType.CALL,
      serial,
      status: MessageStatus.OK,
      ...header,
    }, body));
    return await reply;
  }

  /**
   * Calls a procedure by libvirt API name with decoded arguments; returns the decoded result.
   *
   * @throws {RpcReplyError} When the server answers an error.
   */
  async call(api: string, args: unknown = null): Promise<unknown> {
    const procedure = RPC_PROCEDURES[api];
    const packet = await this.callRaw({ proc: procedure.proc }, encodeXdr(procedure.args, args));
    if (packet.header.status === MessageStatus.ERROR) throw errorOf(packet);
    return decodeXdr(procedure.ret, packet.body).value;
  }

  /** Waits (bounded) until `predicate` holds for the collected messages. */
  async waitForMessages(
    predicate: (messages: Packet[]) => boolean,
    timeoutMs = RPC_REPLY_TIMEOUT_MS,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.messages)) {
      if (this.#closed) throw new Error("connection closed");
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`messages not seen within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#onMessage = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** Closes the socket and waits for the read loop. */
  async close(): Promise<void> {
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
    await this.ended;
  }
}

/** The error of an error reply packet. */
export function errorOf(packet: Packet): RpcReplyError {
  const error = decodeXdr(errorType, packet.body).value as { code: number; message: string };
  return new RpcReplyError(error.code, error.message);
}
