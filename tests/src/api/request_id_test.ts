import assert from "node:assert/strict";
import { createMemoryStore } from "../../../src/log/memory_store.ts";
import { createServiceCore } from "../../../src/service/service.ts";
import { TestDriver } from "../../../drivers/test/test_driver.ts";
import type { ApiRequestRecord } from "../../../src/api/api_context.ts";

async function withRecords(
  fn: (
    handle: (request: Request) => Promise<Response>,
    records: ApiRequestRecord[],
  ) => Promise<void>,
): Promise<void> {
  const records: ApiRequestRecord[] = [];
  const service = await createServiceCore({
    store: createMemoryStore(),
    drivers: [new TestDriver()],
    xmlMaxBytes: 64 * 1024,
    log: () => {},
    onRequest: (record) => records.push(record),
  });
  try {
    await fn((request) => service.api.handle(request, "read-only"), records);
  } finally {
    await service.close();
  }
}

Deno.test("every answer carries an X-Request-Id that the call's record names", async () => {
  await withRecords(async (handle, records) => {
    const first = await handle(new Request("http://evirt/v1/version"));
    const second = await handle(new Request("http://evirt/v1/domains/nosuch"));
    await first.body?.cancel();
    await second.body?.cancel();
    const ids = [first.headers.get("x-request-id"), second.headers.get("x-request-id")];
    assert.ok(ids[0] !== null && ids[1] !== null && ids[0] !== ids[1], String(ids));
    assert.equal(records.length, 2);
    assert.deepEqual(
      records.map(({ requestId, method, route, role, status }) => ({
        requestId,
        method,
        route,
        role,
        status,
      })),
      [
        { requestId: ids[0], method: "GET", route: "/v1/version", role: "read-only", status: 200 },
        {
          requestId: ids[1],
          method: "GET",
          route: "/v1/domains/:ref",
          role: "read-only",
          status: 404,
        },
      ],
    );
    assert.ok(records.every((record) => record.durationMs >= 0));
  });
});

Deno.test("a caller's tame X-Request-Id is kept; anything else is replaced", async () => {
  await withRecords(async (handle, records) => {
    const kept = await handle(
      new Request("http://evirt/v1/version", { headers: { "x-request-id": "trace-42.a" } }),
    );
    await kept.body?.cancel();
    assert.equal(kept.headers.get("x-request-id"), "trace-42.a");
    const replaced = await handle(
      new Request("http://evirt/v1/version", { headers: { "x-request-id": "a b\tc" } }),
    );
    await replaced.body?.cancel();
    assert.notEqual(replaced.headers.get("x-request-id"), "a b\tc");
    assert.equal(records[1].requestId, replaced.headers.get("x-request-id"));
  });
});

Deno.test("an unrouted path is recorded by its path, a refused method by its route", async () => {
  await withRecords(async (handle, records) => {
    (await handle(new Request("http://evirt/v1/nothing-here"))).body?.cancel();
    assert.equal(records[0].route, "/v1/nothing-here");
    assert.equal(records[0].status, 404);
  });
});
