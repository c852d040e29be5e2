/**
 * Buffered reading from an accepted connection with a deadline on every read: the one place the
 * HTTP server waits for a client, so no client can hold it longer than its timeouts allow.
 *
 * @module
 */

import { watchDeadline } from "./deadline_sweeper.ts";

/** A read that did not finish in time. */
export class ReadTimeoutError extends Error {
  constructor() {
    super("Read timed out");
    this.name = "ReadTimeoutError";
  }
}

/**
 * Bytes read per call, at most. A small request still holds only what arrived (the buffer grows
 * by what a read returns); a streamed upload moves in fewer, larger pieces (16 KiB reads made a
 * volume upload three times slower).
 */
const READ_CHUNK_BYTES = 64 * 1024;

/**
 * A connection's incoming bytes, buffered. At most one read is in flight; a read started to
 * notice the client going away (while a response streams) is reused by the next caller.
 *
 * @example
 * ```ts ignore
 * const reader = new ConnectionReader(conn);
 * const ended = !await reader.fill(Date.now() + 1000);
 * ```
 */
export class ConnectionReader {
  readonly #conn: Deno.Conn;
  #buffer = new Uint8Array(READ_CHUNK_BYTES);
  #start = 0;
  #end = 0;
  #pending: Promise<void> | undefined;
  #eof = false;

  /** @param conn The connection to read. */
  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** Buffered bytes not yet taken. */
  get available(): Uint8Array {
    return this.#buffer.subarray(this.#start, this.#end);
  }

  /** Whether the client ended its side. */
  get eof(): boolean {
    return this.#eof;
  }

  /** Drops `count` buffered bytes from the front. */
  consume(count: number): void {
    this.#start += count;
    if (this.#start === this.#end) this.#start = this.#end = 0;
  }

  /**
   * Takes up to `max` buffered bytes: a copy, or with `lent` a view of the buffer, valid only
   * until the next read (for a consumer done with the bytes before it asks for more).
   */
  take(max: number, lent = false): Uint8Array {
    const count = Math.min(max, this.#end - this.#start);
    const bytes = lent
      ? this.#buffer.subarray(this.#start, this.#start + count)
      : this.#buffer.slice(this.#start, this.#start + count);
    this.consume(count);
    return bytes;
  }

  /**
   * Reads more bytes into the buffer, waiting until `deadlineMs` (epoch ms) at most.
   *
   * @returns false when the client ended its side.
   * @throws {ReadTimeoutError} When nothing arrived before the deadline.
   */
  async fill(deadlineMs: number): Promise<boolean> {
    if (this.#eof) return false;
    const waitMs = deadlineMs - Date.now();
    if (waitMs <= 0) throw new ReadTimeoutError();
    let cancel = () => {};
    const timeout = new Promise<"timeout">((resolve) => {
      cancel = watchDeadline(deadlineMs, () => resolve("timeout"));
    });
    const outcome = await Promise.race([this.#readOnce(), timeout]).finally(() => cancel());
    if (outcome === "timeout") throw new ReadTimeoutError();
    return !this.#eof;
  }

  /**
   * Resolves when the client ends its side (or the connection fails): true; or false after one
   * read that brought bytes, which stay buffered for the next request.
   */
  async watchEnd(): Promise<boolean> {
    if (this.#eof) return true;
    await this.#readOnce();
    return this.#eof;
  }

  /** One read into the buffer, shared by every caller waiting while it is in flight. */
  #readOnce(): Promise<void> {
    this.#pending ??= (async () => {
      // Nothing buffered (a body streaming through): the read lands in the buffer itself,
      // sparing a copy; nothing else touches the buffer while the read is in flight.
      const direct = this.#start === this.#end;
      const chunk = direct ? this.#buffer : new Uint8Array(READ_CHUNK_BYTES);
      try {
        const count = await this.#conn.read(chunk);
        if (count === null) this.#eof = true;
        else if (direct) {
          this.#start = 0;
          this.#end = count;
        } else this.#append(chunk.subarray(0, count));
      } catch {
        // A reset, or the connection closed under the read, ends the stream like an EOF.
        this.#eof = true;
      } finally {
        this.#pending = undefined;
      }
    })();
    return this.#pending;
  }

  #append(bytes: Uint8Array): void {
    if (this.#end + bytes.length > this.#buffer.length) {
      const live = this.#end - this.#start;
      const size = Math.max(this.#buffer.length, (live + bytes.length) * 2);
      const next = new Uint8Array(size);
      next.set(this.#buffer.subarray(this.#start, this.#end));
      this.#buffer = next;
      this.#start = 0;
      this.#end = live;
    }
    this.#buffer.set(bytes, this.#end);
    this.#end += bytes.length;
  }
}
