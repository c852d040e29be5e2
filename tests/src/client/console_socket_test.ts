import assert from "node:assert/strict";
import { openConsoleSocket } from "../../../src/client/console_socket.ts";
import { withTempDir } from "../../support/temp_dir.ts";

/** Runs `body` with a server on a unix socket answering `handler`. */
async function withServer(
  handler: (request: Request) => Response,
  body: (path: string) => Promise<void>,
): Promise<void> {
  await withTempDir("evirt-console-socket-", async (dir) => {
    const path = `${dir}/evirt.sock`;
    const server = Deno.serve({ path, onListen: () => {} }, handler);
    try {
      await body(path);
    } finally {
      await server.shutdown();
    }
  });
}

Deno.test("console socket: bytes both ways; a refusal's close code is libvirt's error", async () => {
  const received: string[] = [];
  let gotTyping: () => void = () => {};
  const typed = new Promise<void>((resolve) => gotTyping = resolve);
  await withServer((request) => {
    const { socket, response } = Deno.upgradeWebSocket(request);
    socket.binaryType = "arraybuffer";
    socket.onopen = () => socket.send(new TextEncoder().encode("EVIRT-COUNT 1\r\n"));
    socket.onmessage = (event) => {
      received.push(new TextDecoder().decode(new Uint8Array(event.data as ArrayBuffer)));
      gotTyping();
      socket.close(4009, "Active console session exists for this domain");
    };
    return response;
  }, async (path) => {
    const console = await openConsoleSocket(path, "/v1/domains/web/console/socket");
    const reader = console.readable.getReader();
    const first = await reader.read();
    assert.equal(new TextDecoder().decode(first.value), "EVIRT-COUNT 1\r\n");
    const writer = console.writable.getWriter();
    await writer.write(new TextEncoder().encode("ls\r"));
    await typed;
    await assert.rejects(reader.read(), (error: Error & { code?: number }) => error.code === 9);
    assert.equal(console.failure()?.code, 9);
    assert.match(console.failure()!.message, /Active console session exists/);
    assert.deepEqual(received, ["ls\r"]);
    await writer.close();
  });
});

Deno.test("console socket: a refused upgrade is the service's error", async () => {
  await withServer(
    () => Response.json({ error: { code: 42, message: "Domain not found: web" } }, { status: 404 }),
    async (path) => {
      await assert.rejects(
        openConsoleSocket(path, "/v1/domains/web/console/socket"),
        (error: Error & { code?: number }) => {
          assert.equal(error.code, 42);
          assert.match(error.message, /Domain not found: web/);
          return true;
        },
      );
    },
  );
});
