import assert from "node:assert/strict";
import { acceptLoop } from "../../../src/net/accept_loop.ts";

/** Bound on each read in these tests, in ms. */
const READ_TIMEOUT_MS = 5000;

async function readOrTimeout(
  conn: Deno.Conn,
  bytes = new Uint8Array(16),
): Promise<number | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      conn.read(bytes),
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error("read timed out")), READ_TIMEOUT_MS);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("acceptLoop serves each connection in order and ends when its listener closes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "evirt-accept-loop-" });
  const path = `${dir}/s`;
  const listener = Deno.listen({ transport: "unix", path });
  const served: number[] = [];
  const logged: string[] = [];
  const loop = acceptLoop(
    listener,
    { name: "test", log: (line) => logged.push(line), reportIntervalMs: 1000 },
    async (conn) => {
      served.push(served.length + 1);
      await conn.write(new Uint8Array([served.length]));
      conn.close();
    },
  );
  try {
    for (const expected of [1, 2]) {
      const client = await Deno.connect({ transport: "unix", path });
      const bytes = new Uint8Array(1);
      assert.equal(await readOrTimeout(client, bytes), 1);
      assert.equal(bytes[0], expected);
      client.close();
    }
  } finally {
    listener.close();
    await loop;
    await Deno.remove(dir, { recursive: true });
  }
  assert.deepEqual(served, [1, 2]);
  assert.deepEqual(logged, [], "a listener closed at shutdown is not a failed accept");
});

Deno.test("acceptLoop closes the connection of a handler that throws, and goes on", async () => {
  const dir = await Deno.makeTempDir({ prefix: "evirt-accept-loop-" });
  const path = `${dir}/s`;
  const listener = Deno.listen({ transport: "unix", path });
  let calls = 0;
  const loop = acceptLoop(
    listener,
    { name: "test", log: () => {}, reportIntervalMs: 1000 },
    () => {
      calls++;
      throw new Error("handler failed");
    },
  );
  try {
    for (let round = 0; round < 2; round++) {
      const client = await Deno.connect({ transport: "unix", path });
      // The loop closed the server side: the client reads end of stream, not a hang.
      assert.equal(await readOrTimeout(client), null);
      client.close();
    }
  } finally {
    listener.close();
    await loop;
    await Deno.remove(dir, { recursive: true });
  }
  assert.equal(calls, 2);
});
