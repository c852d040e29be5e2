import assert from "node:assert/strict";
import {
  deniedCallOf,
  type Operation,
  operation,
  operationByApi,
  OPERATIONS,
  pathOf,
} from "../../../src/model/operations.ts";
import { OPENAPI_DOCUMENT } from "../../../src/api/openapi.ts";
import { createServiceCore, type ServiceCore } from "../../../src/service/service.ts";
import { createMemoryStore } from "../../../src/log/memory_store.ts";
import { TestDriver } from "../../../drivers/test/test_driver.ts";
import { CLI_ONLY_VERBS, loadVerb, VERB_LOADERS } from "../../../src/cli/verb_registry.ts";
import { DOMAIN_JOBS } from "../../../actors/domain_dispatch.ts";
import { corpusDir, missing, testIf } from "../../support/environment.ts";

const ROWS: readonly Operation[] = OPERATIONS;
const ROUTED = ROWS.filter((row) => row.http !== null);
const routeOf = (row: Operation) => `${row.http!.method} ${row.http!.path}`;

async function withCore(run: (core: ServiceCore) => Promise<void>): Promise<void> {
  const core = await createServiceCore({
    store: createMemoryStore(),
    drivers: [new TestDriver()],
    xmlMaxBytes: 64 * 1024,
    events: { heartbeatMs: 60_000 },
    log: () => {},
  });
  try {
    await run(core);
  } finally {
    await core.close();
  }
}

Deno.test("OPERATIONS names, routes and libvirt APIs are each unique", () => {
  const names = ROWS.map((row) => row.name);
  assert.equal(new Set(names).size, names.length);
  const routes = ROUTED.map(routeOf);
  assert.equal(new Set(routes).size, routes.length);
  const apis = ROWS.flatMap((row) => row.libvirt.map((call) => call.api));
  assert.equal(new Set(apis).size, apis.length);
  for (const row of ROWS) {
    assert.match(row.name, new RegExp(`^${row.object}\\.[a-z_]+$`), row.name);
    assert.ok(row.http !== null || row.verbs.length > 0 || row.libvirt.length > 0, row.name);
  }
});

Deno.test("OPERATIONS: a read-only caller may run no row that changes something", () => {
  for (const row of ROUTED) {
    // A console's pty, a graphics connection and a volume's content are no reads a read-only
    // caller may make (libvirt refuses virDomainOpenConsole, virDomainOpenGraphicsFD and
    // virStorageVolDownload to read-only connections); the console socket lets it only view. A
    // secret's value is no read either (virSecretGetValue needs read-write access).
    const changes = row.http!.method !== "GET" || row.name === "domain.console" ||
      row.name === "domain.graphics_socket" || row.name === "volume.download" ||
      row.name === "secret.get_value";
    assert.equal(row.access, changes ? "read-write" : "read-only", row.name);
  }
});

Deno.test("OPERATIONS flags are libvirt's VIR_ names and query names are snake case", () => {
  for (const row of ROUTED) {
    for (const parameter of row.http!.query) {
      if (parameter.flag !== undefined) assert.match(parameter.flag, /^VIR_[A-Z_]+$/, row.name);
      if (parameter.in !== "header") assert.match(parameter.name, /^[a-z_]+$/, row.name);
    }
  }
});

Deno.test("operationByApi finds the row of every libvirt call, and nothing else", () => {
  for (const row of ROWS) {
    for (const call of row.libvirt) assert.equal(operationByApi(call.api), row);
  }
  assert.equal(operationByApi("virDomainMigrate"), undefined);
  assert.equal(operation("domain.start").libvirt[1].api, "virDomainCreateWithFlags");
});

Deno.test("pathOf fills and encodes every path parameter and refuses a missing one", () => {
  assert.equal(pathOf("domain.list"), "/v1/domains");
  assert.equal(
    pathOf("domain.block_info", { ref: "a b", disk: "/var/x.img" }),
    "/v1/domains/a%20b/blocks/%2Fvar%2Fx.img/info",
  );
  assert.throws(() => pathOf("domain.state"), /needs :ref/);
});

Deno.test("deniedCallOf names the first libvirt call, or the route when there is none", () => {
  assert.equal(deniedCallOf(operation("domain.start")), "virDomainCreate");
  assert.equal(deniedCallOf(operation("host.metrics")), "GET /metrics");
});

testIf(
  "OPERATIONS procedure numbers are libvirt's REMOTE_PROC_ numbers",
  missing(`${corpusDir}/protocol/remote_protocol.x`),
  async () => {
    const text = await Deno.readTextFile(`${corpusDir}/protocol/remote_protocol.x`);
    const numbers = new Map<string, number>();
    for (const match of text.matchAll(/^\s*(REMOTE_PROC_[A-Z0-9_]+)\s*=\s*(\d+)\s*,?\s*$/gm)) {
      numbers.set(match[1], Number(match[2]));
    }
    assert.ok(numbers.size > 400, "remote_protocol.x parsed");
    for (const row of ROWS) {
      for (const call of row.libvirt) {
        if (call.procedure === null) continue;
        const name = call.remoteName ?? remoteNameOf(call.api);
        assert.equal(numbers.get(name), call.procedure, `${call.api} → ${name}`);
      }
    }
  },
);

/** `virDomainGetXMLDesc` → `REMOTE_PROC_DOMAIN_GET_XML_DESC`. */
function remoteNameOf(api: string): string {
  const words = api.replace(/^vir/, "").match(/[A-Z]+(?![a-z])|[A-Z][a-z]*/g) ?? [];
  return `REMOTE_PROC_${words.map((word) => word.toUpperCase()).join("_")}`;
}

Deno.test("API serves exactly the routed rows, and refuses read-only callers the read-write ones", async () => {
  await withCore(async (core) => {
    const served = core.api.routes.map((route) => `${route.method} ${route.pattern}`).sort();
    assert.deepEqual(served, ROUTED.map(routeOf).sort());
    const head = core.store.headPosition();
    for (const row of ROUTED.filter((each) => each.access === "read-write")) {
      const path = row.http!.path.replace(/:\w+/g, "x");
      const response = await core.api.handle(
        new Request(`http://evirt${path}`, {
          method: row.http!.method,
          ...(row.http!.method === "GET" ? {} : { body: "" }),
        }),
        "read-only",
      );
      const body = await response.json();
      assert.equal(response.status, 403, row.name);
      assert.equal(body.error.code, 29, row.name);
      assert.match(body.error.message, new RegExp(`prevents ${deniedCallOf(row)}$`), row.name);
    }
    assert.equal(core.store.headPosition(), head);
  });
});

Deno.test("OpenAPI documents exactly the routed rows, each with its access and libvirt calls", () => {
  const documented: string[] = [];
  for (const [path, item] of Object.entries(OPENAPI_DOCUMENT.paths)) {
    for (const [method, entry] of Object.entries(item)) {
      const route = `${method.toUpperCase()} ${path.replaceAll(/\{(\w+)\}/g, ":$1")}`;
      documented.push(route);
      const row = ROUTED.find((each) => routeOf(each) === route);
      assert.ok(row !== undefined, `${route} has no row`);
      const operationEntry = entry as { operationId: string; "x-evirt-access": string };
      assert.equal(operationEntry.operationId, row.name);
      assert.equal(operationEntry["x-evirt-access"], row.access);
    }
  }
  assert.deepEqual(documented.sort(), ROUTED.map(routeOf).sort());
});

Deno.test("CLI verbs are exactly the table's verbs plus the CLI's own, each loading itself", async () => {
  const fromTable = new Set(ROWS.flatMap((row) => row.verbs));
  const expected = [...fromTable, ...CLI_ONLY_VERBS].sort();
  assert.deepEqual(Object.keys(VERB_LOADERS).sort(), expected);
  for (const name of expected) assert.equal((await loadVerb(name))?.name, name);
  assert.equal(await loadVerb("toString"), undefined);
  assert.equal(await loadVerb("migrate-compcache"), undefined);
});

Deno.test("Host dispatch runs every domain command the table names", () => {
  const commands = new Set(ROWS.flatMap((row) => row.command === undefined ? [] : [row.command]));
  assert.deepEqual([...Object.keys(DOMAIN_JOBS), "define"].sort(), [...commands].sort());
});
