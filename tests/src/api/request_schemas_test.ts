import assert from "node:assert/strict";
import { withTestCore } from "../../support/test_core.ts";
import { OPENAPI_DOCUMENT } from "../../../src/api/openapi.ts";
import { parameterSchema, queryParameters } from "../../../src/api/request_schemas.ts";
import { type Operation, OPERATIONS } from "../../../src/model/operations.ts";

const XML = (name: string) =>
  `<domain type='test'><name>${name}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>` +
  `<os><type>hvm</type></os><devices/></domain>`;

interface Refusal {
  status: number;
  code: number;
  where?: string;
  message: string;
}

Deno.test("a query the route's schema refuses is answered with code 8 at the parameter and changes nothing", async () => {
  await withTestCore(async (service) => {
    const call = async (method: string, path: string, role: "read-write" | "read-only") => {
      const response = await service.api.handle(
        new Request(`http://evirt${path}`, {
          method,
          ...(method === "POST" && path.startsWith("/v1/domains?")
            ? { headers: { "content-type": "application/xml" }, body: XML("web") }
            : {}),
        }),
        role,
      );
      const body = response.status === 204 ? {} : await response.json();
      return { status: response.status, body };
    };
    assert.equal((await call("POST", "/v1/domains?", "read-write")).status, 201);
    const refusal = async (method: string, path: string): Promise<Refusal> => {
      const { status, body } = await call(method, path, "read-write");
      const error = body.error;
      return { status, code: error?.code, where: error?.where, message: error?.message };
    };
    // An unknown parameter, a bad boolean, a value out of range, one outside the values, twice.
    assert.deepEqual(await refusal("GET", "/v1/domains?activ=1"), {
      status: 400,
      code: 8,
      where: "activ",
      message: "invalid argument: unknown parameter 'activ' for GET /v1/domains",
    });
    assert.deepEqual(await refusal("GET", "/v1/domains?active=yes"), {
      status: 400,
      code: 8,
      where: "active",
      message: "invalid argument: active must be true or false, got 'yes'",
    });
    assert.deepEqual(await refusal("POST", "/v1/domains/web/actions/start?queue_timeout_ms=-1"), {
      status: 400,
      code: 8,
      where: "queue_timeout_ms",
      message: "invalid argument: queue_timeout_ms must be an integer from 0 to 600000, got '-1'",
    });
    assert.deepEqual(await refusal("GET", "/v1/domains/web/metadata?type=colour"), {
      status: 400,
      code: 8,
      where: "type",
      message: "invalid argument: type must be one of title, description, element, got 'colour'",
    });
    assert.deepEqual(await refusal("GET", "/v1/domains/web/metadata"), {
      status: 400,
      code: 8,
      where: "type",
      message: "invalid argument: type is required",
    });
    assert.deepEqual(await refusal("GET", "/v1/domains?active=1&active=0"), {
      status: 400,
      code: 8,
      where: "active",
      message: "invalid argument: active may be given once",
    });
    // The refused start changed nothing: the domain is still shut off.
    const state = await call("GET", "/v1/domains/web/state", "read-only");
    assert.equal(state.body.stateName, "shut off");
    // The same query, valid, is served.
    assert.equal((await call("GET", "/v1/domains?active=0&inactive", "read-only")).status, 200);
    assert.equal(
      (await call("POST", "/v1/domains/web/actions/start?queue_timeout_ms=5000", "read-write"))
        .status,
      200,
    );
  });
});

Deno.test("a repeatable parameter takes every value, each checked by the schema", async () => {
  await withTestCore(async (service) => {
    const post = (path: string) =>
      service.api.handle(new Request(`http://evirt${path}`, { method: "POST" }), "read-write");
    const created = await service.api.handle(
      new Request("http://evirt/v1/domains", {
        method: "POST",
        headers: { "content-type": "application/xml" },
        body: XML("keys"),
      }),
      "read-write",
    );
    assert.equal(created.status, 201);
    const bad = await post("/v1/domains/keys/send-key?keycode=30&keycode=70000");
    assert.equal(bad.status, 400);
    assert.deepEqual((await bad.json()).error, {
      code: 8,
      name: "INVALID_ARG",
      message: "invalid argument: keycode must be an integer from 0 to 65535, got '30', '70000'",
      detail: "keycode must be an integer from 0 to 65535, got '30', '70000'",
      where: "keycode",
    });
    // Every value valid: the schema passes it on, and the handler answers (the domain is off).
    const good = await post("/v1/domains/keys/send-key?keycode=30&keycode=31");
    assert.equal((await good.json()).error.code, 55);
  });
});

Deno.test("the OpenAPI document lists each query parameter with the schema requests are checked by", () => {
  const paths = OPENAPI_DOCUMENT.paths as Record<string, Record<string, unknown>>;
  let compared = 0;
  for (const row of OPERATIONS as readonly Operation[]) {
    if (row.http === null) continue;
    const path = row.http.path.replaceAll(/:(\w+)/g, "{$1}");
    const operation = paths[path][row.http.method.toLowerCase()] as {
      parameters: { name: string; in: string; schema: unknown; required?: boolean }[];
    };
    for (const parameter of queryParameters(row)) {
      const listed = operation.parameters.find((each) =>
        each.in === "query" && each.name === parameter.name
      );
      assert.ok(listed !== undefined, `${row.name}: ${parameter.name} is documented`);
      assert.deepEqual(listed.schema, JSON.parse(JSON.stringify(parameterSchema(parameter))));
      assert.equal(listed.required === true, parameter.required === true);
      compared++;
    }
    const documented = operation.parameters.filter((each) => each.in === "query").length;
    assert.equal(documented, queryParameters(row).length, `${row.name}: no other query parameter`);
  }
  assert.ok(compared > 100, `compared ${compared} parameters`);
});

Deno.test("a JSON body its schema refuses is answered with code 8 at the member and changes nothing", async () => {
  await withTestCore(async (service) => {
    const send = async (method: string, path: string, body: unknown) => {
      const response = await service.api.handle(
        new Request(`http://evirt${path}`, {
          method,
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        }),
        "read-write",
      );
      return {
        status: response.status,
        body: response.status === 204 ? {} : await response.json(),
      };
    };
    const created = await service.api.handle(
      new Request("http://evirt/v1/domains", {
        method: "POST",
        headers: { "content-type": "application/xml" },
        body: XML("meta"),
      }),
      "read-write",
    );
    assert.equal(created.status, 201);
    const refused = async (method: string, path: string, body: unknown) => {
      const { status, body: answer } = await send(method, path, body);
      return {
        status,
        detail: answer.error?.detail,
        where: answer.error?.where,
        code: answer.error?.code,
      };
    };
    assert.deepEqual(await refused("PUT", "/v1/domains/meta/autostart", { autostart: "yes" }), {
      status: 400,
      code: 8,
      detail: "autostart must be true or false",
      where: "autostart",
    });
    assert.deepEqual(await refused("PUT", "/v1/domains/meta/autostart", {}), {
      status: 400,
      code: 8,
      detail: "autostart is required",
      where: "autostart",
    });
    assert.deepEqual(
      await refused("PUT", "/v1/domains/meta/autostart", { autostart: true, boot: 1 }),
      { status: 400, code: 8, detail: "unknown member 'boot'", where: "boot" },
    );
    assert.deepEqual(
      await refused("PUT", "/v1/domains/meta/metadata", { type: "colour", value: "x" }),
      {
        status: 400,
        code: 8,
        detail: "type must be one of title, description, element",
        where: "type",
      },
    );
    assert.deepEqual(
      await refused("PUT", "/v1/domains/meta/metadata", { type: "title", value: 7 }),
      { status: 400, code: 8, detail: "value must be string or null", where: "value" },
    );
    // Nothing changed; a valid body is served.
    const info = await service.api.handle(new Request("http://evirt/v1/domains/meta"), "read-only");
    const view = await info.json();
    assert.equal(view.autostart, false);
    assert.equal(view.title, undefined);
    assert.equal(
      (await send("PUT", "/v1/domains/meta/metadata", { type: "title", value: "Web" })).status,
      204,
    );
    assert.equal(
      (await send("PUT", "/v1/domains/meta/autostart", { autostart: true })).status,
      200,
    );
  });
});
