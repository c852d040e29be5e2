import assert from "node:assert/strict";
import { HEAD_MAX_BYTES, UnixHttpError, unixHttpRequest } from "../../../src/client/unix_http.ts";

/** Serves `handler` on a unix socket in a temporary folder for the length of `run`. */
async function withServer(
  handler: (request: Request) => Response | Promise<Response>,
  run: (path: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "evirt-unix-http-" });
  const path = `${dir}/http.sock`;
  const server = Deno.serve({ transport: "unix", path, onListen: () => {} }, handler);
  try {
    await run(path);
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Serves raw bytes (whatever a test wants the answer to be) on a unix socket. */
async function withRawServer(answer: string, run: (path: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "evirt-unix-raw-" });
  const path = `${dir}/raw.sock`;
  const listener = Deno.listen({ transport: "unix", path });
  const served = (async () => {
    for await (const conn of listener) {
      await conn.read(new Uint8Array(4096));
      await conn.write(new TextEncoder().encode(answer)).catch(() => {});
      conn.close();
    }
  })();
  try {
    await run(path);
  } finally {
    listener.close();
    await served.catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("unixHttpRequest sends method, target, headers and body and reads a JSON answer", async () => {
  await withServer(async (request) => {
    const url = new URL(request.url);
    return Response.json({
      method: request.method,
      target: `${url.pathname}${url.search}`,
      type: request.headers.get("content-type"),
      body: await request.text(),
    }, { status: 201 });
  }, async (path) => {
    const response = await unixHttpRequest(path, {
      method: "POST",
      target: "/v1/domains?x=1",
      headers: { "content-type": "application/xml" },
      body: "<domain>é</domain>",
    });
    assert.equal(response.status, 201);
    assert.ok(response.ok);
    assert.equal(response.header("Content-Type"), "application/json");
    assert.deepEqual(await response.json(), {
      method: "POST",
      target: "/v1/domains?x=1",
      type: "application/xml",
      body: "<domain>é</domain>",
    });
  });
});

Deno.test("unixHttpRequest reads error statuses and empty 204 answers", async () => {
  await withServer(
    (request) =>
      new URL(request.url).pathname === "/gone"
        ? new Response(null, { status: 204 })
        : Response.json({ error: { code: 42 } }, { status: 404 }),
    async (path) => {
      const missing = await unixHttpRequest(path, { method: "GET", target: "/x" });
      assert.equal(missing.status, 404);
      assert.equal(missing.ok, false);
      assert.deepEqual(await missing.json(), { error: { code: 42 } });
      const empty = await unixHttpRequest(path, { method: "DELETE", target: "/gone" });
      assert.equal(empty.status, 204);
      assert.equal(await empty.text(), "");
    },
  );
});

Deno.test("unixHttpRequest streams a chunked body as it arrives", async () => {
  await withServer(() => {
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        if (sent === 3) return controller.close();
        controller.enqueue(new TextEncoder().encode(`data: ${sent++}\n\n`));
      },
    });
    return new Response(body, { headers: { "content-type": "text/event-stream" } });
  }, async (path) => {
    const response = await unixHttpRequest(path, { method: "GET", target: "/v1/events" });
    let text = "";
    for await (const chunk of response.body!) text += new TextDecoder().decode(chunk);
    assert.equal(text, "data: 0\n\ndata: 1\n\ndata: 2\n\n");
  });
});

Deno.test("unixHttpRequest ends a stream when its signal aborts", async () => {
  await withServer(() => {
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(": first\n\n"));
      },
    });
    return new Response(body, { headers: { "content-type": "text/event-stream" } });
  }, async (path) => {
    const controller = new AbortController();
    const response = await unixHttpRequest(path, {
      method: "GET",
      target: "/v1/events",
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    assert.equal(new TextDecoder().decode((await reader.read()).value), ": first\n\n");
    const next = reader.read();
    controller.abort();
    await assert.rejects(next);
  });
});

Deno.test("unixHttpRequest refuses an already aborted signal without connecting", async () => {
  await assert.rejects(
    unixHttpRequest("/nonexistent/evirt.sock", {
      method: "GET",
      target: "/",
      signal: AbortSignal.abort(),
    }),
    (error) => (error as Error).name === "AbortError",
  );
});

Deno.test("unixHttpRequest reports a missing socket as NotFound", async () => {
  await assert.rejects(
    unixHttpRequest("/nonexistent/evirt.sock", { method: "GET", target: "/" }),
    Deno.errors.NotFound,
  );
});

Deno.test("unixHttpRequest reads a body framed by the end of the connection", async () => {
  await withRawServer(
    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil the end",
    async (path) => {
      const response = await unixHttpRequest(path, { method: "GET", target: "/" });
      assert.equal(await response.text(), "until the end");
    },
  );
});

Deno.test("unixHttpRequest refuses an answer that is not HTTP", async () => {
  await withRawServer("SSH-2.0-OpenSSH\r\n\r\n", async (path) => {
    await assert.rejects(
      unixHttpRequest(path, { method: "GET", target: "/" }),
      (error) => error instanceof UnixHttpError && /not an HTTP answer/.test(error.message),
    );
  });
});

Deno.test("unixHttpRequest refuses a head larger than HEAD_MAX_BYTES", async () => {
  const header = `x-big: ${"a".repeat(HEAD_MAX_BYTES)}\r\n`;
  await withRawServer(`HTTP/1.1 200 OK\r\n${header}\r\n`, async (path) => {
    await assert.rejects(
      unixHttpRequest(path, { method: "GET", target: "/" }),
      (error) => error instanceof UnixHttpError && /too l/.test(error.message),
    );
  });
});

Deno.test("unixHttpRequest refuses a body shorter than its content-length and a bad chunk", async () => {
  await withRawServer("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort", async (path) => {
    const response = await unixHttpRequest(path, { method: "GET", target: "/" });
    await assert.rejects(response.text(), /ended before its content-length/);
  });
  await withRawServer(
    "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
    async (path) => {
      const response = await unixHttpRequest(path, { method: "GET", target: "/" });
      await assert.rejects(response.text(), /bad chunk size/);
    },
  );
});

Deno.test("unixHttpRequest refuses reading a body twice", async () => {
  await withRawServer("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok", async (path) => {
    const response = await unixHttpRequest(path, { method: "GET", target: "/" });
    assert.equal(await response.text(), "ok");
    await assert.rejects(response.text(), TypeError);
  });
});
