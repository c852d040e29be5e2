import assert from "node:assert/strict";
import {
  cookieValue,
  SESSION_TTL_MS,
  SESSIONS_MAX,
  WebSessions,
} from "../../../../src/api/web/web_sessions.ts";

const TOKEN = "rw-token-0123456789abcdef";

function withCookie(id: string): Request {
  return new Request("http://evirt/", { headers: { cookie: `other=1; evirt_session=${id}` } });
}

Deno.test("WebSessions: a login with a configured token makes a session the cookie finds", () => {
  const sessions = new WebSessions(() => [{ role: "read-write", token: TOKEN }]);
  assert.equal(sessions.login("not-a-token-0123456789"), undefined);
  const session = sessions.login(TOKEN)!;
  assert.equal(session.role, "read-write");
  assert.notEqual(session.csrf, session.id);
  assert.equal(sessions.fromRequest(withCookie(session.id))?.id, session.id);
  assert.equal(sessions.fromRequest(withCookie("unknown")), undefined);
});

Deno.test("WebSessions: a session expires after its life", () => {
  let now = 1_000;
  const sessions = new WebSessions(() => [{ role: "read-only", token: TOKEN }], () => now);
  const session = sessions.login(TOKEN)!;
  now += SESSION_TTL_MS - 1;
  assert.ok(sessions.fromRequest(withCookie(session.id)) !== undefined);
  now += 1;
  assert.equal(sessions.fromRequest(withCookie(session.id)), undefined);
  assert.equal(sessions.size, 0);
});

Deno.test("WebSessions: the number held is bounded; the oldest goes first", () => {
  const sessions = new WebSessions(() => [{ role: "read-only", token: TOKEN }]);
  const first = sessions.login(TOKEN)!;
  for (let index = 0; index < SESSIONS_MAX; index++) sessions.login(TOKEN);
  assert.equal(sessions.size, SESSIONS_MAX);
  assert.equal(sessions.fromRequest(withCookie(first.id)), undefined);
});

Deno.test("WebSessions: the CSRF check needs the session's own token in the header", () => {
  const sessions = new WebSessions(() => [{ role: "read-write", token: TOKEN }]);
  const session = sessions.login(TOKEN)!;
  const request = (header?: string) =>
    new Request("http://evirt/", {
      method: "POST",
      headers: header === undefined ? {} : { "x-evirt-csrf": header },
    });
  assert.equal(WebSessions.csrfMatches(request(), session), false);
  assert.equal(WebSessions.csrfMatches(request("wrong"), session), false);
  assert.equal(WebSessions.csrfMatches(request(session.csrf), session), true);
});

Deno.test("cookieValue finds one cookie among several", () => {
  assert.equal(cookieValue("a=1; evirt_session=xyz; b=2", "evirt_session"), "xyz");
  assert.equal(cookieValue("a=1", "evirt_session"), undefined);
  assert.equal(cookieValue(null, "evirt_session"), undefined);
});
