import assert from "node:assert/strict";
import { unixHttpRequest } from "../../../../src/client/unix_http.ts";
import { CONTENT_SECURITY_POLICY } from "../../../../src/api/web/web_console.ts";
import { CSRF_HEADER, SESSION_COOKIE } from "../../../../src/api/web/web_sessions.ts";
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
      assert.equal(page.header("content-security-policy"), CONTENT_SECURITY_POLICY);
      assert.equal(page.header("x-content-type-options"), "nosniff");
      const html = await page.text();
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
    assert.equal(page.headers.get("content-security-policy"), CONTENT_SECURITY_POLICY);
    await page.body?.cancel();
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
