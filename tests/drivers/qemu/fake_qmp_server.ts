/**
 * A scripted fake QMP server on a real Unix socket in a temporary folder, for testing the
 * monitor without QEMU. Each accepted connection runs the test's script with a
 * {@linkcode FakeQmpPeer} that can send arbitrary bytes (whole lines, byte by byte, garbage) and
 * read the client's commands.
 *
 * @module
 */

/** A command line the fake server received, parsed. */
export interface ReceivedCommand {
  execute: string;
  arguments?: Record<string, unknown>;
  id: unknown;
}

/** What a QEMU 7.2 greeting looks like. */
export const FAKE_GREETING = {
  QMP: {
    version: { qemu: { micro: 0, minor: 2, major: 7 }, package: "Debian 1:7.2+dfsg-7" },
    capabilities: ["oob"],
  },
};

/** Bound on how long a script waits for the client's next command, in milliseconds. */
export const FAKE_RECEIVE_TIMEOUT_MS = 5000;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The server side of one connection. */
export class FakeQmpPeer {
  readonly #conn: Deno.Conn;
  #buffer = "";
  #closed = false;
  #pendingRead: Promise<Uint8Array | null> | undefined;
  /** Every command received so far. */
  readonly received: ReceivedCommand[] = [];

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** Writes raw text. */
  async send(text: string): Promise<void> {
    const bytes = encoder.encode(text);
    let offset = 0;
    while (offset < bytes.length) offset += await this.#conn.write(bytes.subarray(offset));
  }

  /** Writes raw text one byte per write, yielding to the event loop between bytes. */
  async sendBytewise(text: string): Promise<void> {
    for (const byte of encoder.encode(text)) {
      await this.#conn.write(new Uint8Array([byte]));
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  }

  /** Writes one JSON message as QEMU does (`\r\n` line end). */
  sendJson(message: unknown): Promise<void> {
    return this.send(`${JSON.stringify(message)}\r\n`);
  }

  /** Sends the greeting. */
  greet(): Promise<void> {
    return this.sendJson(FAKE_GREETING);
  }

  /** Sends `{"return": value, "id": id}`. */
  reply(id: unknown, value: unknown = {}): Promise<void> {
    return this.sendJson({ return: value, id });
  }

  /** Sends `{"error": {class, desc}, "id": id}`. */
  error(id: unknown, errorClass: string, desc: string): Promise<void> {
    return this.sendJson({ error: { class: errorClass, desc }, id });
  }

  /** Sends an event with a timestamp. */
  event(name: string, data?: Record<string, unknown>): Promise<void> {
    const nowUs = Date.now() * 1000;
    return this.sendJson({
      event: name,
      ...(data === undefined ? {} : { data }),
      timestamp: { seconds: Math.floor(nowUs / 1e6), microseconds: nowUs % 1e6 },
    });
  }

  /** The next command from the client, or null when it closed the connection. */
  async receive(timeoutMs = FAKE_RECEIVE_TIMEOUT_MS): Promise<ReceivedCommand | null> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#buffer.includes("\n")) {
      const remainingMs = deadline - Date.now();
      if (remainingMs <= 0) throw new Error("Fake QMP server: no command in time");
      const outcome = await this.#readFor(remainingMs);
      if (outcome === "eof") return null;
    }
    const newline = this.#buffer.indexOf("\n");
    const line = this.#buffer.slice(0, newline);
    this.#buffer = this.#buffer.slice(newline + 1);
    const command = JSON.parse(line) as ReceivedCommand;
    this.received.push(command);
    return command;
  }

  /** Whether the client sent nothing (not even part of a line) for `ms` milliseconds. */
  async quietFor(ms: number): Promise<boolean> {
    if (this.#buffer !== "") return false;
    const outcome = await this.#readFor(ms);
    return outcome === "timeout";
  }

  /** Reads once, giving up (but keeping the read pending for later) after `ms`. */
  async #readFor(ms: number): Promise<"data" | "eof" | "timeout"> {
    if (this.#pendingRead === undefined) {
      const chunk = new Uint8Array(4096);
      this.#pendingRead = this.#conn.read(chunk).then(
        (count) => count === null ? null : chunk.subarray(0, count),
        () => null,
      );
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), ms);
    });
    const outcome = await Promise.race([this.#pendingRead, timeout]);
    clearTimeout(timer);
    if (outcome === "timeout") return "timeout";
    this.#pendingRead = undefined;
    if (outcome === null) return "eof";
    this.#buffer += decoder.decode(outcome);
    return "data";
  }

  /** Receives a command and checks its name. */
  async expect(execute: string): Promise<ReceivedCommand> {
    const command = await this.receive();
    if (command === null) throw new Error(`Fake QMP server: expected ${execute}, got end of file`);
    if (command.execute !== execute) {
      throw new Error(`Fake QMP server: expected ${execute}, got ${command.execute}`);
    }
    return command;
  }

  /** Greets, expects `qmp_capabilities` and answers it. */
  async handshake(): Promise<void> {
    await this.greet();
    const command = await this.expect("qmp_capabilities");
    await this.reply(command.id, {});
  }

  /** Reads until the client closes the connection (or the bound passes). */
  async waitForClientClose(timeoutMs = FAKE_RECEIVE_TIMEOUT_MS): Promise<void> {
    while (await this.receive(timeoutMs) !== null) {
      // Discard: the script has said all it wanted.
    }
  }

  /** Closes the server side (the client sees end of file). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // The client side already tore it down.
    }
  }
}

/** A script run for each accepted connection; the peer is closed when it returns. */
export type FakeQmpScript = (peer: FakeQmpPeer, connectionIndex: number) => Promise<void>;

/** A fake QMP server listening on `<temp dir>/qmp.sock`. */
export class FakeQmpServer {
  /** The socket to connect to. */
  readonly socketPath: string;
  readonly #dir: string;
  readonly #listener: Deno.UnixListener;
  readonly #peers: FakeQmpPeer[] = [];
  readonly #scripts: Promise<void>[] = [];
  readonly #acceptLoop: Promise<void>;
  /** Errors thrown by scripts (a test asserts this is empty). */
  readonly scriptErrors: unknown[] = [];

  private constructor(dir: string, listener: Deno.UnixListener, script: FakeQmpScript) {
    this.#dir = dir;
    this.socketPath = `${dir}/qmp.sock`;
    this.#listener = listener;
    this.#acceptLoop = this.#accept(script);
  }

  /**
   * Starts a server that runs `script` for each connection.
   *
   * @param script The conversation to play.
   */
  static start(script: FakeQmpScript): FakeQmpServer {
    const dir = Deno.makeTempDirSync({ prefix: "evirt-fake-qmp-" });
    return FakeQmpServer.startAt(dir, script);
  }

  /** Starts a server in an existing folder (for tests that create the socket late). */
  static startAt(dir: string, script: FakeQmpScript): FakeQmpServer {
    const listener = Deno.listen({ transport: "unix", path: `${dir}/qmp.sock` });
    return new FakeQmpServer(dir, listener, script);
  }

  /** Connections accepted so far. */
  get peers(): readonly FakeQmpPeer[] {
    return this.#peers;
  }

  async #accept(script: FakeQmpScript): Promise<void> {
    for await (const conn of this.#listener) {
      const peer = new FakeQmpPeer(conn);
      const index = this.#peers.length;
      this.#peers.push(peer);
      this.#scripts.push(
        script(peer, index).catch((error) => {
          this.scriptErrors.push(error);
        }).finally(() => peer.close()),
      );
    }
  }

  /** Waits for the scripts to finish, stops listening and removes the folder. */
  async stop(): Promise<void> {
    try {
      this.#listener.close();
    } catch {
      // Already closed.
    }
    await this.#acceptLoop.catch(() => {});
    for (const peer of this.#peers) peer.close();
    await Promise.all(this.#scripts);
    Deno.removeSync(this.#dir, { recursive: true });
  }
}
