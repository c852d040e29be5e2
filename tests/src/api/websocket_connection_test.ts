import assert from "node:assert/strict";
import {
  SOCKET_CLOSED,
  SOCKET_OPEN,
  type SocketMessageEvent,
  WebSocketConnection,
} from "../../../src/api/websocket_connection.ts";
import { withTempDir } from "../../support/temp_dir.ts";

/** A connected pair over a unix socket: the server's end and the peer's. */
async function connectedPair(dir: string): Promise<{ server: Deno.Conn; peer: Deno.Conn }> {
  const listener = Deno.listen({ transport: "unix", path: `${dir}/ws.sock` });
  try {
    const [server, peer] = await Promise.all([
      listener.accept(),
      Deno.connect({ transport: "unix", path: `${dir}/ws.sock` }),
    ]);
    return { server, peer };
  } finally {
    listener.close();
  }
}

/** Resolves true once `socket` has ended, false after `ms`. */
async function endsWithin(socket: WebSocketConnection, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), ms));
  try {
    return await Promise.race([socket.ended.then(() => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("a WebSocket whose peer reads nothing is cut once a write stalls past its bound", async () => {
  await withTempDir("evirt-ws-stall-", async (dir) => {
    const { server, peer } = await connectedPair(dir);
    try {
      const socket = new WebSocketConnection(server, { writeStallMs: 200 });
      let closed = false;
      socket.addEventListener("close", () => closed = true);
      socket.start();
      // Far more than the kernel buffers between the two ends: the write must stall.
      socket.send("x".repeat(8 * 1024 * 1024));
      assert.equal(socket.readyState, SOCKET_OPEN);
      assert.ok(await endsWithin(socket, 10_000), "the stalled socket was never cut");
      assert.ok(closed);
      assert.equal(socket.readyState, SOCKET_CLOSED);
    } finally {
      peer.close();
    }
  });
});

Deno.test("a WebSocket whose peer reads slowly but steadily is not cut", async () => {
  await withTempDir("evirt-ws-steady-", async (dir) => {
    const { server, peer } = await connectedPair(dir);
    const socket = new WebSocketConnection(server, { writeStallMs: 500 });
    try {
      socket.start();
      const messageBytes = 2 * 1024 * 1024;
      socket.send("y".repeat(messageBytes));
      let received = 0;
      const buffer = new Uint8Array(64 * 1024);
      // The frame's header is 10 bytes for a payload this long.
      while (received < messageBytes + 10) {
        const count = await peer.read(buffer);
        if (count === null) break;
        received += count;
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      assert.equal(received, messageBytes + 10);
      assert.equal(socket.readyState, SOCKET_OPEN);
    } finally {
      socket.terminate();
      peer.close();
    }
  });
});

Deno.test("a WebSocket refuses a write stall bound that is not positive", () => {
  assert.throws(
    () => new WebSocketConnection({} as Deno.Conn, { writeStallMs: 0 }),
    RangeError,
  );
});

/** A masked client frame, FIN set unless `fin` is false. */
function clientFrame(opcode: number, payload: Uint8Array, fin = true): Uint8Array {
  const mask = new Uint8Array([1, 2, 3, 4]);
  const long = payload.length >= 126;
  const header = long
    ? [(fin ? 0x80 : 0) | opcode, 0x80 | 126, payload.length >> 8, payload.length & 0xff]
    : [
      (fin ? 0x80 : 0) | opcode,
      0x80 | payload.length,
    ];
  const bytes = new Uint8Array(header.length + 4 + payload.length);
  bytes.set(header);
  bytes.set(mask, header.length);
  payload.forEach((byte, index) => bytes[header.length + 4 + index] = byte ^ mask[index % 4]);
  return bytes;
}

Deno.test("a WebSocket hands the client's text and binary messages over as message events, and sends binary ones", async () => {
  await withTempDir("evirt-ws-message-", async (dir) => {
    const { server, peer } = await connectedPair(dir);
    const socket = new WebSocketConnection(server, { messageMaxBytes: 1000 });
    try {
      const messages: { data: number[]; text: boolean }[] = [];
      socket.addEventListener("message", (event) => {
        const message = event as SocketMessageEvent;
        messages.push({ data: [...message.data], text: message.text });
      });
      socket.start();
      await peer.write(clientFrame(0x2, new Uint8Array([0, 255, 7])));
      await peer.write(clientFrame(0x1, new TextEncoder().encode("ls")));
      await peer.write(clientFrame(0x2, new Uint8Array(300).fill(9)));
      const started = performance.now();
      while (messages.length < 3 && performance.now() - started < 5000) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      assert.deepEqual(messages.slice(0, 2), [
        { data: [0, 255, 7], text: false },
        { data: [0x6c, 0x73], text: true },
      ]);
      assert.equal(messages[2].data.length, 300);
      socket.sendBytes(new Uint8Array([1, 2, 3]));
      await socket.flushed();
      const buffer = new Uint8Array(16);
      const count = await peer.read(buffer);
      assert.deepEqual([...buffer.subarray(0, count ?? 0)], [0x82, 3, 1, 2, 3]);
    } finally {
      socket.terminate();
      peer.close();
    }
  });
});

Deno.test("a WebSocket cuts a client that sends a message over its bound or a fragmented one", async () => {
  for (
    const frame of [
      clientFrame(0x2, new Uint8Array(200)),
      clientFrame(0x2, new Uint8Array(10), false),
    ]
  ) {
    await withTempDir("evirt-ws-refuse-", async (dir) => {
      const { server, peer } = await connectedPair(dir);
      const socket = new WebSocketConnection(server, { messageMaxBytes: 100 });
      try {
        let messages = 0;
        socket.addEventListener("message", () => messages++);
        socket.start();
        await peer.write(frame);
        assert.ok(await endsWithin(socket, 5000), "the socket was not cut");
        assert.equal(messages, 0);
      } finally {
        peer.close();
      }
    });
  }
});

Deno.test("a WebSocket refuses a message bound it cannot read", () => {
  assert.throws(
    () => new WebSocketConnection({} as Deno.Conn, { messageMaxBytes: 70_000 }),
    RangeError,
  );
});
