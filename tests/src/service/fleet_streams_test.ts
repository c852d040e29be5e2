import assert from "node:assert/strict";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { FleetStreams } from "../../../src/service/fleet_streams.ts";
import { STREAM_WINDOW_BYTES } from "../../../src/service/fleet_stream_link.ts";
import { serveForwardedCalls } from "../../../src/service/fleet_call_forwarding.ts";
import type { StreamSource } from "../../../src/rpc/procedure.ts";
import { missing, testIf } from "../../support/environment.ts";
import { startNatsServer } from "../../support/nats_server.ts";

/** A stream source of the owner: what it was sent, and output it hands out as asked. */
class OwnerSource implements StreamSource {
  written: string[] = [];
  closed = false;
  /** Bytes handed out by `read`. */
  readBytes = 0;
  readonly #output: (Uint8Array | null)[] = [];
  #wake: (() => void) | undefined;
  /** With `endless`, every read gives a 16 KiB chunk at once. */
  constructor(readonly endless = false) {}

  push(chunk: Uint8Array | null): void {
    this.#output.push(chunk);
    this.#wake?.();
  }

  async read(): Promise<Uint8Array | null> {
    if (this.endless) {
      if (this.closed) return null;
      this.readBytes += 16 * 1024;
      return new Uint8Array(16 * 1024);
    }
    while (this.#output.length === 0 && !this.closed) {
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    if (this.closed) return null;
    return this.#output.shift()!;
  }

  write(bytes: Uint8Array): Promise<void> {
    this.written.push(new TextDecoder().decode(bytes));
    return Promise.resolve();
  }

  close(): void {
    this.closed = true;
    this.#wake?.();
  }
}

/** Two hosts on one NATS server: east owns and carries `source`, west opens it. */
async function withHosts(
  source: OwnerSource,
  body: (west: FleetStreams) => Promise<void>,
): Promise<void> {
  const server = await startNatsServer();
  const connections: NatsConnection[] = [];
  try {
    const eastConnection = await connect({ servers: server.url });
    connections.push(eastConnection);
    const westConnection = await connect({ servers: server.url });
    connections.push(westConnection);
    const east = new FleetStreams(eastConnection, "east", 5000);
    const west = new FleetStreams(westConnection, "west", 5000);
    const calls = serveForwardedCalls(eastConnection, "east", (call) => {
      east.carry(call.stream!, source);
      return Promise.resolve(new Uint8Array([1, 2, 3, 4]));
    });
    // East's subscription is on the server before west asks (another connection).
    await eastConnection.flush();
    try {
      await body(west);
    } finally {
      calls.unsubscribe();
      west.close();
      east.close();
    }
  } finally {
    for (const connection of connections) await connection.close();
    await server.stop();
  }
}

/** Polls `probe` until it holds, for at most 5 s. */
async function until(probe: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!probe()) {
    assert.ok(Date.now() < deadline, "never happened");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const CALL = { uri: "qemu:///system", proc: 201, args: new Uint8Array(), readOnly: false };

testIf(
  "FleetStreams: bytes both ways, the answer first; closing the caller's side closes the owner's",
  missing("nats-server"),
  async () => {
    const source = new OwnerSource();
    source.push(new TextEncoder().encode("boot "));
    await withHosts(source, async (west) => {
      const { result, source: carried } = await west.open("east", CALL);
      assert.deepEqual(result, new Uint8Array([1, 2, 3, 4]));
      source.push(new TextEncoder().encode("text"));
      const first = await carried.read!();
      const second = await carried.read!();
      assert.equal(
        new TextDecoder().decode(first as Uint8Array) +
          new TextDecoder().decode(second as Uint8Array),
        "boot text",
      );
      await carried.write(new TextEncoder().encode("ls\r"));
      await until(() => source.written.length > 0);
      assert.deepEqual(source.written, ["ls\r"]);
      carried.close();
      await until(() => source.closed);
    });
  },
);

testIf(
  "FleetStreams: the owner's end is the caller's end of data",
  missing("nats-server"),
  async () => {
    const source = new OwnerSource();
    await withHosts(source, async (west) => {
      const { source: carried } = await west.open("east", CALL);
      source.push(null);
      assert.equal(await carried.read!(), null);
    });
  },
);

testIf(
  "FleetStreams: a caller that does not read holds the owner at its window",
  missing("nats-server"),
  async () => {
    const source = new OwnerSource(true);
    await withHosts(source, async (west) => {
      const { source: carried } = await west.open("east", CALL);
      await until(() => source.readBytes >= STREAM_WINDOW_BYTES);
      // Then it waits: at most the window, plus the chunk read while waiting for room.
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.ok(source.readBytes <= STREAM_WINDOW_BYTES + 16 * 1024, `${source.readBytes}`);
      // Reading lets it go on.
      const before = source.readBytes;
      let taken = 0;
      while (taken < STREAM_WINDOW_BYTES) {
        taken += ((await carried.read!()) as Uint8Array).length;
      }
      await until(() => source.readBytes > before);
      carried.close();
    });
  },
);

testIf(
  "FleetStreams: an owner that does not answer is code 38, and nothing stays open",
  missing("nats-server"),
  async () => {
    const server = await startNatsServer();
    const connection = await connect({ servers: server.url });
    try {
      const west = new FleetStreams(connection, "west", 500);
      await assert.rejects(west.open("nobody", CALL), (error: Error & { code?: number }) => {
        assert.equal(error.code, 38);
        assert.match(error.message, /host 'nobody', which owns this domain, did not answer/);
        return true;
      });
      west.close();
    } finally {
      await connection.close();
      await server.stop();
    }
  },
);
