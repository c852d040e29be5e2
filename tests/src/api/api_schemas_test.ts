import assert from "node:assert/strict";
import { Value } from "@sinclair/typebox/value";
import type { TSchema } from "@sinclair/typebox";
import { withTestCore } from "../../support/test_core.ts";
import {
  API_SCHEMAS,
  DomainSummarySchema,
  ErrorSchema,
  registerSchemaFormats,
} from "../../../src/api/api_schemas.ts";
import { OPENAPI_DOCUMENT } from "../../../src/api/openapi.ts";

registerSchemaFormats();

const XML = (name: string) =>
  `<domain type='test'><name>${name}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>` +
  `<os><type>hvm</type></os><devices/></domain>`;

/** Asserts that `value` is valid by `schema`, listing TypeBox's errors when not. */
function assertValid(schema: TSchema, value: unknown, what: string): void {
  const errors = [...Value.Errors(schema, [DomainSummarySchema], value)].map((error) =>
    `${error.path}: ${error.message}`
  );
  assert.deepEqual(errors, [], what);
}

/** The documented success schema name of `method path`, from the OpenAPI document. */
function documentedSchema(path: string, method: string, status: string): string | undefined {
  const paths = OPENAPI_DOCUMENT.paths as Record<string, Record<string, unknown>>;
  const operation = paths[path][method] as {
    responses: Record<string, { content?: Record<string, { schema: { $ref?: string } }> }>;
  } | undefined;
  const ref = operation?.responses[status]?.content?.["application/json"]?.schema.$ref;
  return ref?.replace("#/components/schemas/", "");
}

Deno.test("every GET answering a TypeBox schema answers what its schema says", async () => {
  await withTestCore(async (service) => {
    const post = new Request("http://evirt/v1/domains", {
      method: "POST",
      headers: { "content-type": "application/xml" },
      body: XML("web"),
    });
    assert.equal((await service.api.handle(post, "read-write")).status, 201);
    const checked: string[] = [];
    for (const path of Object.keys(OPENAPI_DOCUMENT.paths)) {
      // Paths without parameters, or naming just the domain (`web`).
      if (path.replaceAll("{ref}", "").includes("{")) continue;
      const name = documentedSchema(path, "get", "200");
      if (name === undefined || API_SCHEMAS[name] === undefined) continue;
      const url = `http://evirt${path.replaceAll("{ref}", "web")}`;
      const response = await service.api.handle(new Request(url), "read-only");
      assert.equal(response.status, 200, path);
      assertValid(API_SCHEMAS[name], await response.json(), `GET ${path} (${name})`);
      checked.push(`${path} ${name}`);
    }
    assert.deepEqual(checked.sort(), [
      "/v1/domains DomainList",
      "/v1/domains/{ref} DomainInfo",
      "/v1/domains/{ref}/state State",
      "/v1/host Host",
      "/v1/version Version",
    ]);
  });
});

Deno.test("a create answers a DomainSummary and an error answers the Error schema", async () => {
  await withTestCore(async (service) => {
    assert.equal(documentedSchema("/v1/domains/create", "post", "201"), "DomainSummary");
    const created = await service.api.handle(
      new Request("http://evirt/v1/domains/create", {
        method: "POST",
        headers: { "content-type": "application/xml" },
        body: XML("web"),
      }),
      "read-write",
    );
    assert.equal(created.status, 201);
    assertValid(DomainSummarySchema, await created.json(), "POST /v1/domains/create");
    const missing = await service.api.handle(
      new Request("http://evirt/v1/domains/nope"),
      "read-only",
    );
    assert.equal(missing.status, 404);
    assertValid(ErrorSchema, await missing.json(), "GET /v1/domains/nope");
  });
});

Deno.test("the schemas refuse answers that differ from them", () => {
  assert.equal(Value.Check(ErrorSchema, { error: { code: "8", name: "x", message: "y" } }), false);
  const summary = {
    uuid: crypto.randomUUID(),
    name: "web",
    id: null,
    state: 5,
    stateName: "shut off",
    reason: 0,
    reasonName: "unknown",
    persistent: true,
    autostart: false,
    active: false,
    managedSave: false,
    pendingFacts: null,
  };
  assert.equal(Value.Check(DomainSummarySchema, summary), true);
  assert.equal(Value.Check(DomainSummarySchema, { ...summary, id: "1" }), false);
  const { managedSave: _, ...withoutManagedSave } = summary;
  assert.equal(Value.Check(DomainSummarySchema, withoutManagedSave), false);
});
