import assert from "node:assert/strict";
import { CONNECTION_LIMITS_DEFAULT } from "../../../src/api/connection_limits.ts";
import { type SocketService, startSocketService } from "../../support/socket_service.ts";

const XML = (name: string) =>
  `<domain type='test'><name>${name}</name><memory>65536</memory><vcpu>1</vcpu>` +
  `<os><type>hvm</type></os><devices/></domain>`;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function rig(overrides: Partial<typeof CONNECTION_LIMITS_DEFAULT> = {}): Promise<SocketService> {
  return startSocketService({ limits: { ...CONNECTION_LIMITS_DEFAULT, ...overrides } });
}

function connect(path: string): Promise<Deno.UnixConn> {
  return Deno.connect({ transport: "unix", path });
}

/** Everything the server sends until it closes the connection (or `timeoutMs` passes). */
async function readUntilClosed(conn: Deno.Conn, timeoutMs = 5000): Promise<string> {
  const buffer = new Uint8Array(64 * 1024);
  let text = "";
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const timer = setTimeout(() => conn.close(), Math.max(1, deadline - Date.now()));
    let count: number | null;
    try {
      count = await conn.read(buffer);
    } catch {
      count = null;
    } finally {
      clearTimeout(timer);
    }
    if (count === null) break;
    text += decoder.decode(buffer.subarray(0, count));
  }
  if (Date.now() >= deadline) throw new Error(`connection still open after ${timeoutMs} ms`);
  return text;
}

/** `count` answers with a content length, read from `conn` in order. */
async function readResponses(
  conn: Deno.Conn,
  count: number,
): Promise<{ status: number; body: string }[]> {
  const responses: { status: number; body: string }[] = [];
  const buffer = new Uint8Array(65536);
  let text = "";
  while (responses.length < count) {
    const headEnd = text.indexOf("\r\n\r\n");
    const length = /content-length: (\d+)/i.exec(text.slice(0, headEnd));
    if (headEnd !== -1 && length !== null && text.length >= headEnd + 4 + Number(length[1])) {
      const end = headEnd + 4 + Number(length[1]);
      responses.push({
        status: Number(text.slice(9, 12)),
        body: text.slice(headEnd + 4, end),
      });
      text = text.slice(end);
      continue;
    }
    const read = await conn.read(buffer);
    assert.ok(read !== null, "closed early");
    text += decoder.decode(buffer.subarray(0, read));
  }
  return responses;
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // closed by the server
  }
}

Deno.test("serveApi answers a half-sent request with 408 (code 68) after the header timeout and closes it", async () => {
  const r = await rig({ headerTimeoutMs: 300 });
  const conn = await connect(r.readOnlySocketPath);
  try {
    const started = Date.now();
    await conn.write(encoder.encode("GET /v1/version HTTP/1.1\r\nHost: evirt\r\n"));
    const answer = await readUntilClosed(conn);
    assert.ok(Date.now() - started >= 250, "closed before the header timeout");
    assert.match(answer, /^HTTP\/1\.1 408 /);
    assert.equal(JSON.parse(answer.split("\r\n\r\n")[1]).error.code, 68);
    assert.equal(r.server.connections.held["read-only"], 0);
  } finally {
    closeQuietly(conn);
    await r.stop();
  }
});

Deno.test("serveApi closes a connection that sends nothing after the header timeout", async () => {
  const r = await rig({ headerTimeoutMs: 200 });
  const conn = await connect(r.socketPath);
  try {
    assert.equal(await readUntilClosed(conn), "");
  } finally {
    closeQuietly(conn);
    await r.stop();
  }
});

Deno.test("serveApi closes a keep-alive connection after the idle timeout", async () => {
  const r = await rig({ idleTimeoutMs: 200 });
  const conn = await connect(r.socketPath);
  try {
    await conn.write(encoder.encode("GET /v1/version HTTP/1.1\r\nHost: evirt\r\n\r\n"));
    const answer = await readUntilClosed(conn);
    assert.match(answer, /^HTTP\/1\.1 200 /);
  } finally {
    closeQuietly(conn);
    await r.stop();
  }
});

Deno.test("serveApi answers a URL of 64 KiB with 414 and libvirt's error JSON (code 8, where url)", async () => {
  const r = await rig();
  const conn = await connect(r.readOnlySocketPath);
  try {
    const target = `/v1/domains/${"a".repeat(65536)}`;
    // Written whole: the service answers once its limit is reached and closes.
    await conn.write(encoder.encode(`GET ${target} HTTP/1.1\r\nHost: evirt\r\n\r\n`)).catch(
      () => {},
    );
    const answer = await readUntilClosed(conn);
    assert.match(answer, /^HTTP\/1\.1 414 /);
    const { error } = JSON.parse(answer.split("\r\n\r\n")[1]);
    assert.equal(error.code, 8);
    assert.equal(error.where, "url");
    assert.match(error.message, /request line is longer than the limit of 65536 bytes/);
  } finally {
    closeQuietly(conn);
    await r.stop();
  }
});

Deno.test("serveApi refuses a read-only connection over its bound with 503 (code 87) while read-write ones are served", async () => {
  const r = await rig({ readOnlyMax: 2, readWriteMax: 2 });
  const held: Deno.Conn[] = [];
  try {
    for (let index = 0; index < 2; index++) held.push(await connect(r.readOnlySocketPath));
    // Let the service accept them before the next one comes.
    while (r.server.connections.held["read-only"] < 2) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const extra = await connect(r.readOnlySocketPath);
    const answer = await readUntilClosed(extra);
    closeQuietly(extra);
    assert.match(answer, /^HTTP\/1\.1 503 /);
    const { error } = JSON.parse(answer.split("\r\n\r\n")[1]);
    assert.equal(error.code, 87);
    assert.match(error.message, /too many connections of read-only callers \(limit 2\)/);
    assert.equal((await r.client.listDomains()).length, 0);
    assert.ok(r.server.connections.refused >= 1);
    const metrics = await r.client.metrics();
    assert.match(metrics, /^evirt_connections\{pool="read-only"\} 2$/m);
    assert.match(metrics, /^evirt_connections_max\{pool="read-only"\} 2$/m);
    assert.match(metrics, /^evirt_connections_refused_total [1-9]\d*$/m);
  } finally {
    for (const conn of held) closeQuietly(conn);
    await r.stop();
  }
});

Deno.test("serveApi serves pipelined keep-alive requests, a chunked body and Expect: 100-continue", async () => {
  const r = await rig();
  const conn = await connect(r.socketPath);
  try {
    const body = XML("web");
    const chunked = `${(body.length - 10).toString(16)}\r\n${body.slice(0, -10)}\r\n` +
      `a\r\n${body.slice(-10)}\r\n0\r\n\r\n`;
    await conn.write(encoder.encode(
      "GET /v1/version HTTP/1.1\r\nHost: evirt\r\n\r\n" +
        "POST /v1/domains HTTP/1.1\r\nHost: evirt\r\ncontent-type: application/xml\r\n" +
        `transfer-encoding: chunked\r\n\r\n${chunked}`,
    ));
    const statuses = (await readResponses(conn, 2)).map((response) => response.status);
    assert.deepEqual(statuses, [200, 201]);
    const buffer = new Uint8Array(4096);
    await conn.write(encoder.encode(
      "POST /v1/domains HTTP/1.1\r\nHost: evirt\r\ncontent-type: application/xml\r\n" +
        `expect: 100-continue\r\ncontent-length: ${XML("db").length}\r\nconnection: close\r\n\r\n`,
    ));
    const interim = await conn.read(buffer);
    assert.match(decoder.decode(buffer.subarray(0, interim!)), /^HTTP\/1\.1 100 Continue\r\n\r\n/);
    await conn.write(encoder.encode(XML("db")));
    assert.match(await readUntilClosed(conn), /^HTTP\/1\.1 201 /);
    assert.deepEqual((await r.client.listDomains()).map((domain) => domain.name).sort(), [
      "db",
      "web",
    ]);
  } finally {
    closeQuietly(conn);
    await r.stop();
  }
});

Deno.test("serveApi answers a malformed request line or a refused method with 400 and code 8", async () => {
  const r = await rig();
  try {
    for (const head of ["GARBAGE", "TRACE / HTTP/1.1", "GET / HTTP/1.1\r\nbad header"]) {
      const conn = await connect(r.socketPath);
      try {
        await conn.write(encoder.encode(`${head}\r\n\r\n`));
        const answer = await readUntilClosed(conn);
        assert.match(answer, /^HTTP\/1\.1 400 /, head);
        assert.equal(JSON.parse(answer.split("\r\n\r\n")[1]).error.code, 8);
      } finally {
        closeQuietly(conn);
      }
    }
  } finally {
    await r.stop();
  }
});

Deno.test("serveApi cuts a dropped slow subscriber's connection at once and frees its slot", async () => {
  const r = await startSocketService({
    events: { subscriberBufferMax: 256, subscriberStallMs: 200, heartbeatMs: 60_000 },
  });
  const conn = await connect(r.readOnlySocketPath);
  try {
    for (let index = 0; index < 4; index++) {
      await r.client.define({ xml: XML(`d${index}`) });
      await r.client.action(`d${index}`, "start");
    }
    await conn.write(encoder.encode("GET /v1/events?since=0 HTTP/1.1\r\nHost: evirt\r\n\r\n"));
    while (r.core.metrics.subscribers < 1) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    // The subscriber reads nothing while far more than its buffer and the socket's buffers hold
    // is produced.
    let rounds = 0;
    while (r.core.metrics.subscribers > 0 && rounds < 5000) {
      await r.client.action(`d${rounds % 4}`, "suspend");
      await r.client.action(`d${rounds % 4}`, "resume");
      rounds++;
    }
    assert.equal(r.core.metrics.subscribers, 0, "the subscriber was never dropped");
    const deadline = Date.now() + 2000;
    while (r.server.connections.held["read-only"] > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(r.server.connections.held["read-only"], 0, "its connection is still open");
    assert.match(await r.client.metrics(), /^evirt_event_subscribers_dropped_total 1$/m);
  } finally {
    closeQuietly(conn);
    await r.stop();
  }
});

Deno.test("serveApi over TCP bounds connections without a valid token apart from read-write ones", async () => {
  const RW_TOKEN = "rw-token-0123456789abcdef";
  const r = await startSocketService({
    tokens: [{ role: "read-write", token: RW_TOKEN }],
    limits: { ...CONNECTION_LIMITS_DEFAULT, unauthenticatedMax: 2 },
  });
  const held: Deno.Conn[] = [];
  try {
    const port = r.server.tcpPort!;
    // Two connections sit without a token; a third without one is refused at once.
    for (let index = 0; index < 2; index++) {
      held.push(await Deno.connect({ hostname: "127.0.0.1", port }));
    }
    while (r.server.connections.held.unauthenticated < 2) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const extra = await Deno.connect({ hostname: "127.0.0.1", port });
    const answer = await readUntilClosed(extra);
    closeQuietly(extra);
    assert.match(answer, /^HTTP\/1\.1 503 /);
    assert.match(answer, /too many connections of unauthenticated callers \(limit 2\)/);
    // A wrong token keeps a connection in the unauthenticated pool.
    await held[0].write(encoder.encode(
      "GET /v1/domains HTTP/1.1\r\nHost: evirt\r\nauthorization: Bearer wrong-token-0123456789\r\n\r\n",
    ));
    const buffer = new Uint8Array(4096);
    const count = await held[0].read(buffer);
    assert.match(decoder.decode(buffer.subarray(0, count!)), /^HTTP\/1\.1 401 /);
    assert.equal(r.server.connections.held.unauthenticated, 2);
    // A valid token on a held connection moves it to the read-write pool.
    await held[1].write(encoder.encode(
      `GET /v1/domains HTTP/1.1\r\nHost: evirt\r\nauthorization: Bearer ${RW_TOKEN}\r\n\r\n`,
    ));
    const served = await held[1].read(buffer);
    assert.match(decoder.decode(buffer.subarray(0, served!)), /^HTTP\/1\.1 200 /);
    assert.deepEqual(r.server.connections.held, {
      "read-write": 1,
      "read-only": 0,
      unauthenticated: 1,
    });
  } finally {
    for (const conn of held) closeQuietly(conn);
    await r.stop();
  }
});

Deno.test("serveApi cuts a dropped slow WebSocket subscriber's connection at once and frees its slot", async () => {
  const r = await startSocketService({
    events: { subscriberBufferMax: 16, subscriberStallMs: 200, heartbeatMs: 60_000 },
  });
  const conn = await connect(r.readOnlySocketPath);
  try {
    for (let index = 0; index < 4; index++) {
      await r.client.define({ xml: XML(`d${index}`) });
      await r.client.action(`d${index}`, "start");
    }
    await conn.write(encoder.encode(
      "GET /v1/events?since=0 HTTP/1.1\r\nHost: evirt\r\nUpgrade: websocket\r\n" +
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
        "Sec-WebSocket-Version: 13\r\n\r\n",
    ));
    const buffer = new Uint8Array(4096);
    const count = await conn.read(buffer);
    const answer = decoder.decode(buffer.subarray(0, count!));
    assert.match(answer, /^HTTP\/1\.1 101 /);
    // RFC 6455's example key and its accept value.
    assert.ok(answer.includes("sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
    let rounds = 0;
    while (r.core.metrics.subscribers > 0 && rounds < 5000) {
      await r.client.action(`d${rounds % 4}`, "suspend");
      await r.client.action(`d${rounds % 4}`, "resume");
      rounds++;
    }
    assert.equal(r.core.metrics.subscribers, 0, "the subscriber was never dropped");
    // At once: well before the closing handshake's own bound of 1 s.
    const deadline = Date.now() + 500;
    while (r.server.connections.held["read-only"] > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(r.server.connections.held["read-only"], 0, "its connection is still open");
  } finally {
    closeQuietly(conn);
    await r.stop();
  }
});

Deno.test("serveApi does not extend the header timeout for a head that trickles in byte by byte", async () => {
  const r = await rig({ headerTimeoutMs: 400 });
  const conn = await connect(r.readOnlySocketPath);
  try {
    const started = Date.now();
    const head = "GET /v1/version HTTP/1.1\r\nHost: evirt\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaa";
    const answer = readUntilClosed(conn);
    for (const byte of encoder.encode(head)) {
      try {
        await conn.write(new Uint8Array([byte]));
      } catch {
        break; // closed by the service
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
      if (Date.now() - started > 3000) break;
    }
    assert.match(await answer, /^HTTP\/1\.1 408 /);
    assert.ok(Date.now() - started < 2000, "the trickle kept the connection open");
  } finally {
    closeQuietly(conn);
    await r.stop();
  }
});
