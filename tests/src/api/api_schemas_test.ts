import assert from "node:assert/strict";
import { Value } from "@sinclair/typebox/value";
import type { TSchema } from "@sinclair/typebox";
import { withTestCore } from "../../support/test_core.ts";
import {
  API_SCHEMAS,
  DomainSummarySchema,
  ErrorSchema,
  REFERENCED_SCHEMAS,
  registerSchemaFormats,
} from "../../../src/api/api_schemas.ts";
import { OPENAPI_DOCUMENT } from "../../../src/api/openapi.ts";

registerSchemaFormats();

const XML = (name: string) =>
  `<domain type='test'><name>${name}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>` +
  `<os><type>hvm</type></os><devices/></domain>`;

/** Asserts that `value` is valid by `schema`, listing TypeBox's errors when not. */
function assertValid(schema: TSchema, value: unknown, what: string): void {
  const errors = [...Value.Errors(schema, REFERENCED_SCHEMAS, value)].map((error) =>
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

/** A test-driver domain with a disk and an interface, so the device routes have one to show. */
const DEVICES_XML = `<domain type='test'><name>web</name><memory unit='MiB'>64</memory>` +
  `<vcpu>2</vcpu><os><type>hvm</type></os><devices>` +
  `<disk type='file' device='disk'><source file='/guest.img'/><target dev='vda' bus='virtio'/></disk>` +
  `<interface type='network'><mac address='52:54:00:00:00:01'/><source network='default'/></interface>` +
  `</devices></domain>`;

Deno.test("every GET of a domain, running and shut off, answers what its schema says", async () => {
  await withTestCore(async (service) => {
    const call = (method: string, path: string, body?: string) =>
      service.api.handle(
        new Request(`http://evirt${path}`, {
          method,
          ...(body === undefined ? {} : { headers: { "content-type": "application/xml" }, body }),
        }),
        "read-write",
      );
    assert.equal((await call("POST", "/v1/domains", DEVICES_XML)).status, 201);
    const checked = new Set<string>();
    const refusedCodes = new Map<string, number>();
    const walk = async () => {
      for (const path of Object.keys(OPENAPI_DOCUMENT.paths)) {
        const filled = path.replaceAll("{ref}", "web").replaceAll("{disk}", "vda");
        if (filled.includes("{")) continue;
        const name = documentedSchema(path, "get", "200");
        if (name === undefined || API_SCHEMAS[name] === undefined) continue;
        const response = await call("GET", filled);
        const body = await response.json();
        // The test core checks each answer against its schema: a mismatch is a 500, code 1.
        assert.notEqual(response.status, 500, `${path}: ${JSON.stringify(body)}`);
        if (response.status === 200) {
          assertValid(API_SCHEMAS[name], body, `GET ${path} (${name})`);
          checked.add(`${path} ${name}`);
        } else {
          assertValid(ErrorSchema, body, `GET ${path} (Error)`);
          refusedCodes.set(path, body.error.code);
        }
      }
    };
    await walk();
    assert.equal((await call("POST", "/v1/domains/web/actions/start")).status, 200);
    await walk();
    console.log(`answers checked: ${checked.size}; refused: ${[...refusedCodes].join(", ")}`);
    for (
      const expected of [
        "/v1/domains DomainList",
        "/v1/domains/{ref} DomainInfo",
        "/v1/domains/{ref}/state State",
        "/v1/host Host",
        "/v1/version Version",
        "/v1/domains/{ref}/definition DefinitionDocument",
        "/v1/domains/{ref}/blocks BlockList",
        "/v1/domains/{ref}/interfaces InterfaceList",
        "/v1/domains/{ref}/vcpus Vcpus",
        "/v1/domains/{ref}/stats StatsRecord",
        "/v1/stats StatsRecords",
      ]
    ) assert.ok(checked.has(expected), `${expected} checked`);
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
