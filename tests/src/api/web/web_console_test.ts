import assert from "node:assert/strict";
import { unixHttpRequest } from "../../../../src/client/unix_http.ts";
import { CONTENT_SECURITY_POLICY, pagePolicy } from "../../../../src/api/web/web_console.ts";
import { APP_JS } from "../../../../src/api/web/assets/app_js.ts";
import {
  CSRF_HEADER,
  CSRF_PROTOCOL_PREFIX,
  SESSION_COOKIE,
} from "../../../../src/api/web/web_sessions.ts";
import { type SocketService, startSocketService } from "../../../support/socket_service.ts";

const XML = `<domain type='test'><name>web</name><memory>65536</memory><vcpu>1</vcpu>
<os><type>hvm</type></os><devices/></domain>`;
const RW_TOKEN = "rw-token-0123456789abcdef";
const RO_TOKEN = "ro-token-0123456789abcdef";

function rig(): Promise<SocketService> {
  return startSocketService({
    tokens: [{ role: "read-write", token: RW_TOKEN }, { role: "read-only", token: RO_TOKEN }],
  });
}

/** Logs in over TCP; the session cookie and its CSRF token. */
async function login(base: string, token: string): Promise<{ cookie: string; csrf: string }> {
  const response = await fetch(`${base}/ui/login`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: base },
    body: new URLSearchParams({ token }),
    redirect: "manual",
  });
  assert.equal(response.status, 303);
  assert.equal(response.headers.get("location"), "/");
  const setCookie = response.headers.get("set-cookie") ?? "";
  assert.match(setCookie, /; HttpOnly/);
  assert.match(setCookie, /; SameSite=Strict/);
  const cookie = setCookie.split(";")[0];
  assert.ok(cookie.startsWith(`${SESSION_COOKIE}=`));
  const session = await fetch(`${base}/ui/session`, { headers: { cookie } });
  const body = await session.json();
  return { cookie, csrf: body.csrf };
}

Deno.test("web console: each unix socket serves the page with a strict CSP, as its own role", async () => {
  const r = await rig();
  try {
    for (
      const [path, role] of [[r.socketPath, "read-write"], [r.readOnlySocketPath, "read-only"]]
    ) {
      const page = await unixHttpRequest(path, { method: "GET", target: "/" });
      assert.equal(page.status, 200);
      const html = await page.text();
      // The page's policy admits the styles of its own answer's nonce, which the page names.
      const nonce = /<meta name="evirt-style-nonce" content="([A-Za-z0-9+/=]+)">/.exec(html)?.[1];
      assert.ok(nonce !== undefined && nonce.length >= 24, html);
      assert.equal(page.header("content-security-policy"), pagePolicy(nonce));
      assert.equal(page.header("x-content-type-options"), "nosniff");
      assert.match(html, /<script type="module" src="\/ui\/app.js"><\/script>/);
      // No inline script, no third-party origin.
      assert.doesNotMatch(html, /<script(?![^>]*src=)/);
      assert.doesNotMatch(html, /https?:\/\//);
      const script = await unixHttpRequest(path, { method: "GET", target: "/ui/app.js" });
      assert.equal(script.header("content-type"), "text/javascript; charset=utf-8");
      assert.match(await script.text(), /new EventSource\(/);
      const session = await unixHttpRequest(path, { method: "GET", target: "/ui/session" });
      assert.deepEqual(await session.json(), { role, csrf: null, transport: "unix" });
    }
  } finally {
    await r.stop();
  }
});

Deno.test("web console over TCP: the page is public, the session needs a login, a bad token is sent back to the form", async () => {
  const r = await rig();
  try {
    const base = `http://127.0.0.1:${r.server.tcpPort}`;
    const page = await fetch(`${base}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-security-policy") ?? "", /style-src 'self' 'nonce-/);
    await page.body?.cancel();
    const anonymousAsset = await fetch(`${base}/ui/style.css`);
    assert.equal(anonymousAsset.headers.get("content-security-policy"), CONTENT_SECURITY_POLICY);
    await anonymousAsset.body?.cancel();
    const anonymous = await fetch(`${base}/ui/session`);
    assert.equal(anonymous.status, 401);
    assert.equal((await anonymous.json()).error.code, 45);
    const refused = await fetch(`${base}/ui/login`, {
      method: "POST",
      body: new URLSearchParams({ token: "not-a-token-0123456789" }),
      redirect: "manual",
    });
    assert.equal(refused.status, 303);
    assert.equal(refused.headers.get("location"), "/?login=failed");
    assert.equal(refused.headers.get("set-cookie"), null);
    const crossSite = await fetch(`${base}/ui/login`, {
      method: "POST",
      headers: { origin: "http://elsewhere.example" },
      body: new URLSearchParams({ token: RW_TOKEN }),
      redirect: "manual",
    });
    assert.equal(crossSite.status, 403);
    assert.equal((await crossSite.json()).error.code, 29);
  } finally {
    await r.stop();
  }
});

Deno.test("web console over TCP: the cookie stands for the token; a mutating request needs its CSRF header", async () => {
  const r = await rig();
  try {
    const base = `http://127.0.0.1:${r.server.tcpPort}`;
    await r.client.define({ xml: XML });
    const { cookie, csrf } = await login(base, RW_TOKEN);
    const list = await fetch(`${base}/v1/domains`, { headers: { cookie } });
    assert.equal(list.status, 200);
    assert.equal((await list.json()).domains[0].name, "web");
    const forgeries: Record<string, string>[] = [{ cookie }, { cookie, [CSRF_HEADER]: "wrong" }];
    for (const headers of forgeries) {
      const forged = await fetch(`${base}/v1/domains/web/actions/start`, {
        method: "POST",
        headers,
      });
      assert.equal(forged.status, 403);
      assert.equal((await forged.json()).error.code, 29);
    }
    const otherOrigin = await fetch(`${base}/v1/domains/web/actions/start`, {
      method: "POST",
      headers: { cookie, [CSRF_HEADER]: csrf, origin: "http://elsewhere.example" },
    });
    assert.equal(otherOrigin.status, 403);
    await otherOrigin.body?.cancel();
    assert.equal((await r.client.state("web")).stateName, "shut off");
    const started = await fetch(`${base}/v1/domains/web/actions/start`, {
      method: "POST",
      headers: { cookie, [CSRF_HEADER]: csrf },
    });
    assert.equal(started.status, 200);
    await started.body?.cancel();
    assert.equal((await r.client.state("web")).stateName, "running");
    // Logging out ends the session: the cookie no longer lists anything.
    const logout = await fetch(`${base}/ui/logout`, {
      method: "POST",
      headers: { cookie, [CSRF_HEADER]: csrf },
    });
    assert.equal(logout.status, 204);
    const after = await fetch(`${base}/v1/domains`, { headers: { cookie } });
    assert.equal(after.status, 401);
    await after.body?.cancel();
  } finally {
    await r.stop();
  }
});

Deno.test("web console over TCP: a read-only session reads and is refused every change (code 29)", async () => {
  const r = await rig();
  try {
    const base = `http://127.0.0.1:${r.server.tcpPort}`;
    await r.client.define({ xml: XML });
    const { cookie, csrf } = await login(base, RO_TOKEN);
    const session = await fetch(`${base}/ui/session`, { headers: { cookie } });
    assert.equal((await session.json()).role, "read-only");
    const refused = await fetch(`${base}/v1/domains/web/actions/start`, {
      method: "POST",
      headers: { cookie, [CSRF_HEADER]: csrf },
    });
    assert.equal(refused.status, 403);
    assert.match((await refused.json()).error.message, /read only access prevents/);
    assert.equal((await r.client.state("web")).stateName, "shut off");
  } finally {
    await r.stop();
  }
});

Deno.test("web console over TCP: a session ends when its token is removed from the listener", async () => {
  const r = await rig();
  try {
    const base = `http://127.0.0.1:${r.server.tcpPort}`;
    const { cookie } = await login(base, RW_TOKEN);
    r.server.replaceTokens([{ role: "read-only", token: RO_TOKEN }]);
    const after = await fetch(`${base}/v1/domains`, { headers: { cookie } });
    assert.equal(after.status, 401);
    await after.body?.cancel();
  } finally {
    await r.stop();
  }
});

Deno.test("web console: every page answer has a nonce of its own", async () => {
  const r = await rig();
  try {
    const base = `http://127.0.0.1:${r.server.tcpPort}`;
    const policies = new Set<string>();
    for (let index = 0; index < 3; index++) {
      const page = await fetch(`${base}/`);
      policies.add(page.headers.get("content-security-policy") ?? "");
      await page.body?.cancel();
    }
    assert.equal(policies.size, 3);
  } finally {
    await r.stop();
  }
});

Deno.test("web console: xterm.js and noVNC's modules are served from the pinned packages, nothing else of them", async () => {
  const r = await rig();
  try {
    const base = `http://127.0.0.1:${r.server.tcpPort}`;
    const xterm = await fetch(`${base}/ui/vendor/xterm.mjs`);
    assert.equal(xterm.headers.get("content-type"), "text/javascript; charset=utf-8");
    assert.match(await xterm.text(), /export\s*\{[^}]*as Terminal/);
    const css = await fetch(`${base}/ui/vendor/xterm.css`);
    assert.match(await css.text(), /\.xterm/);
    const rfb = await fetch(`${base}/ui/vendor/novnc/core/rfb.js`);
    assert.match(await rfb.text(), /export default class RFB/);
    const nested = await fetch(`${base}/ui/vendor/novnc/core/util/browser.js`);
    assert.equal(nested.status, 200);
    await nested.body?.cancel();
    for (
      const path of ["core/../package.json", "package.json", "core/rfb.js.map", "core/none.js"]
    ) {
      const refused = await fetch(`${base}/ui/vendor/novnc/${path}`);
      assert.equal(refused.status, 404, path);
      await refused.body?.cancel();
    }
  } finally {
    await r.stop();
  }
});

/** Sends a raw WebSocket upgrade over TCP; the answer's status line and body. */
async function rawUpgrade(
  port: number,
  target: string,
  headers: Record<string, string>,
): Promise<{ status: number; text: string }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const lines = [
      `GET ${target} HTTP/1.1`,
      `host: 127.0.0.1:${port}`,
      "upgrade: websocket",
      "connection: Upgrade",
      "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==",
      "sec-websocket-version: 13",
      ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    ];
    await conn.write(new TextEncoder().encode(lines.join("\r\n") + "\r\n\r\n"));
    const buffer = new Uint8Array(8192);
    let text = "";
    const deadline = setTimeout(() => conn.close(), 5000);
    try {
      while (!/\r\n\r\n[\s\S]*\n/.test(text)) {
        const count = await conn.read(buffer);
        if (count === null) break;
        text += new TextDecoder().decode(buffer.subarray(0, count));
      }
    } finally {
      clearTimeout(deadline);
    }
    return { status: Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1]), text };
  } finally {
    try {
      conn.close();
    } catch {
      // closed by the deadline
    }
  }
}

Deno.test("web console over TCP: a console WebSocket with the cookie needs the CSRF token as its subprotocol", async () => {
  const r = await rig();
  try {
    const port = r.server.tcpPort!;
    const base = `http://127.0.0.1:${port}`;
    await r.client.define({ xml: XML });
    const { cookie, csrf } = await login(base, RW_TOKEN);
    const target = "/v1/domains/web/console/socket";
    const bare = await rawUpgrade(port, target, { cookie, "sec-websocket-protocol": "evirt.v1" });
    assert.equal(bare.status, 403);
    assert.match(bare.text, /"code":29/);
    const wrong = await rawUpgrade(port, target, {
      cookie,
      "sec-websocket-protocol": `evirt.v1, ${CSRF_PROTOCOL_PREFIX}not-the-token`,
    });
    assert.equal(wrong.status, 403);
    // With the token, the request reaches the console, which a shut off domain has not.
    const passed = await rawUpgrade(port, target, {
      cookie,
      "sec-websocket-protocol": `evirt.v1, ${CSRF_PROTOCOL_PREFIX}${csrf}`,
    });
    assert.equal(passed.status, 409, passed.text);
    assert.match(passed.text, /"code":55/);
    assert.match(passed.text, /domain is not running/);
  } finally {
    await r.stop();
  }
});

Deno.test("web console: the page's script parses (a string module is not checked by the compiler)", () => {
  // Parsed, not run: a Function body takes the script's syntax (it has no static import).
  assert.equal(typeof new Function(APP_JS), "function");
  // The check can fail: an escape the string lost breaks a literal.
  assert.throws(() => new Function(APP_JS.replace('split("\\n")', 'split("\n")')), SyntaxError);
});
