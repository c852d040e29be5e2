import assert from "node:assert/strict";
import {
  SOCKET_CLOSED,
  SOCKET_OPEN,
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
