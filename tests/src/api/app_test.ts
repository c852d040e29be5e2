import assert from "node:assert/strict";
import { createMemoryStore } from "../../../src/log/memory_store.ts";
import { createServiceCore, type ServiceCore } from "../../../src/service/service.ts";
import { TestDriver } from "../../../drivers/test/test_driver.ts";
import { EvirtClient, parseSse } from "../../../src/client/client.ts";
import { isVirtError } from "../../../src/model/errors.ts";
import { OPENAPI_DOCUMENT } from "../../../src/api/openapi.ts";
import { Networks } from "../../../actors/networks.ts";
import { NETWORK_FACT_TYPES } from "../../../src/model/network_facts.ts";
import { Secrets } from "../../../actors/secrets.ts";
import { SECRET_FACT_TYPES } from "../../../src/model/secret_facts.ts";
import { StoragePools } from "../../../actors/storage_pools.ts";
import { STORAGE_FACT_TYPES } from "../../../src/model/storage_facts.ts";

const XML = (name: string, uuid?: string) =>
  `<domain type='test'>
  <name>${name}</name>
  ${uuid === undefined ? "" : `<uuid>${uuid}</uuid>`}
  <memory unit='MiB'>512</memory>
  <vcpu>2</vcpu>
  <os><type>hvm</type></os>
  <devices/>
</domain>`;

async function core(): Promise<ServiceCore> {
  return await createServiceCore({
    store: createMemoryStore(),
    checkAnswers: true,
    drivers: [new TestDriver()],
    xmlMaxBytes: 64 * 1024,
    events: { heartbeatMs: 60_000 },
    nodeInfo: () => ({
      model: "x86_64",
      memoryKiB: 1,
      cpus: 1,
      mhz: 1,
      nodes: 1,
      sockets: 1,
      cores: 1,
      threads: 1,
    }),
    hostname: () => "node1",
    log: () => {},
  });
}

/** The secret the route sweep defines. */
const SECRET_UUID = "e78d4b51-a2af-485f-b0f5-afca709a80f4";

function clientOf(service: ServiceCore, role: "read-write" | "read-only" = "read-write") {
  return new EvirtClient((request) => service.api.handle(request, role));
}

async function withService(fn: (service: ServiceCore) => Promise<void>): Promise<void> {
  const service = await core();
  try {
    await fn(service);
  } finally {
    await service.close();
  }
}

Deno.test("API defines a domain from XML and answers its info, state and XML", async () => {
  await withService(async (service) => {
    const client = clientOf(service);
    const defined = await client.define({ xml: XML("web") });
    assert.equal(defined.name, "web");
    assert.equal(defined.detail, "added");
    const info = await client.info("web");
    assert.equal(info.stateName, "shut off");
    assert.equal(info.maxMemoryKiB, 524288);
    assert.equal(info.vcpus, 2);
    assert.equal(info.id, null);
    assert.equal(info.uuid, defined.uuid);
    const xml = await client.xml("web");
    assert.match(xml, /<name>web<\/name>/);
    assert.match(xml, new RegExp(`<uuid>${defined.uuid}</uuid>`));
  });
});

Deno.test("API runs the lifecycle actions and reports state and reason", async () => {
  await withService(async (service) => {
    const client = clientOf(service);
    await client.define({ xml: XML("web") });
    const started = await client.action("web", "start");
    assert.equal(started.exists && started.stateName, "running");
    assert.deepEqual(await client.state("web"), {
      state: 1,
      stateName: "running",
      reason: 1,
      reasonName: "booted",
    });
    await client.action("web", "suspend");
    assert.equal((await client.state("web")).reasonName, "user");
    await client.action("web", "resume");
    assert.equal((await client.state("web")).reasonName, "unpaused");
    const shut = await client.action("web", "shutdown", { waitSeconds: 5 });
    assert.equal(shut.exists && shut.stateName, "shut off");
    assert.equal((await client.state("web")).reasonName, "shutdown");
  });
});

Deno.test("API live XML carries the running id", async () => {
  await withService(async (service) => {
    const client = clientOf(service);
    await client.define({ xml: XML("web") });
    await client.action("web", "start");
    const id = (await client.info("web")).id;
    assert.match(await client.xml("web"), new RegExp(`<domain type='test' id='${id}'>`));
    assert.doesNotMatch(await client.xml("web", { inactive: true }), / id='/);
  });
});

Deno.test("API refuses every mutation to a read-only caller with code 29 naming the call", async () => {
  await withService(async (service) => {
    await clientOf(service).define({ xml: XML("web") });
    const readOnly = clientOf(service, "read-only");
    const head = service.store.headPosition();
    const attempts: [string, () => Promise<unknown>][] = [
      ["virDomainDefineXML", () => readOnly.define({ xml: XML("other") })],
      ["virDomainCreateXML", () => readOnly.create({ xml: XML("other") })],
      ["virDomainCreate", () => readOnly.action("web", "start")],
      ["virDomainDestroy", () => readOnly.action("web", "destroy")],
      ["virDomainShutdown", () => readOnly.action("web", "shutdown")],
      ["virDomainUndefine", () => readOnly.undefine("web")],
      ["virDomainSetAutostart", () => readOnly.setAutostart("web", true)],
      ["virDomainSetMetadata", () => readOnly.setMetadata("web", { type: "title", value: "x" })],
    ];
    for (const [call, attempt] of attempts) {
      await assert.rejects(attempt, (error) =>
        isVirtError(error, 29) &&
        error.fullMessage === `operation forbidden: read only access prevents ${call}`);
    }
    assert.equal(service.store.headPosition(), head);
    assert.equal((await readOnly.listDomains()).length, 1);
  });
});

Deno.test("API refuses malformed XML and JSON with 4xx and appends nothing", async () => {
  await withService(async (service) => {
    const bodies: [string, string, number, number][] = [
      ["application/xml", "<domain type='test'><name>x</name>", 400, 27],
      ["application/xml", "<!DOCTYPE x [<!ENTITY a 'b'>]><domain/>", 400, 27],
      ["application/json", "{not json", 400, 8],
      ["application/json", "[1,2]", 400, 8],
      ["application/xml", XML("has/slash"), 400, 27],
      ["text/plain", "hello", 400, 8],
      ["application/xml", "<domain>" + "x".repeat(70 * 1024) + "</domain>", 400, 8],
    ];
    for (const [type, body, status, code] of bodies) {
      const response = await service.api.handle(
        new Request("http://evirt/v1/domains", {
          method: "POST",
          headers: { "content-type": type },
          body,
        }),
        "read-write",
      );
      const json = await response.json();
      assert.equal(
        response.status,
        status,
        `${type} ${body.slice(0, 40)}: ${JSON.stringify(json)}`,
      );
      assert.equal(json.error.code, code, `${body.slice(0, 40)}: ${JSON.stringify(json)}`);
    }
    assert.equal(service.store.headPosition(), 0);
  });
});

Deno.test("API answers libvirt's errors with fitting HTTP statuses", async () => {
  await withService(async (service) => {
    await clientOf(service).define({ xml: XML("web") });
    const cases: [string, string, number, number][] = [
      ["GET", "/v1/domains/nope", 404, 42],
      // The test hypervisor refuses as libvirt's test driver: code 1, yet a conflict, not a 500.
      ["POST", "/v1/domains/web/actions/suspend", 409, 1],
      ["POST", "/v1/domains/web/actions/destroy", 409, 55],
      ["POST", "/v1/domains/web/actions/start?paused=maybe", 400, 8],
      ["GET", "/v1/nothing", 404, 8],
      ["PATCH", "/v1/domains/web", 405, 84],
      ["GET", "/v1/domains/web/metadata?type=title", 404, 80],
    ];
    for (const [method, path, status, code] of cases) {
      const response = await service.api.handle(
        new Request(`http://evirt${path}`, { method }),
        "read-write",
      );
      const json = await response.json();
      assert.equal(response.status, status, `${method} ${path}`);
      assert.equal(json.error.code, code, `${method} ${path}`);
    }
  });
});

Deno.test("API sets and reads title, description and a metadata element", async () => {
  await withService(async (service) => {
    const client = clientOf(service);
    await client.define({ xml: XML("web") });
    await client.setMetadata("web", { type: "title", value: "Web server" });
    await client.setMetadata("web", { type: "description", value: "serves pages" });
    await client.setMetadata("web", {
      type: "element",
      uri: "http://example.org/app/1",
      key: "app",
      value: "<owner team='ops'>alice</owner>",
    });
    assert.equal(await client.getMetadata("web", { type: "title" }), "Web server");
    assert.equal(await client.getMetadata("web", { type: "description" }), "serves pages");
    const element = await client.getMetadata("web", {
      type: "element",
      uri: "http://example.org/app/1",
    });
    assert.match(
      element,
      /^<app:owner xmlns:app=(['"])http:\/\/example.org\/app\/1\1 team=(['"])ops\2>alice<\/app:owner>/,
    );
    const xml = await client.xml("web");
    assert.match(xml, /<title>Web server<\/title>/);
    assert.match(xml, /<metadata>/);
  });
});

Deno.test("API lists with libvirt's filters", async () => {
  await withService(async (service) => {
    const client = clientOf(service);
    await client.define({ xml: XML("a") });
    await client.define({ xml: XML("b") });
    await client.action("b", "start");
    await client.create({ xml: XML("t") });
    const names = async (filter: Parameters<typeof client.listDomains>[0]) =>
      (await client.listDomains(filter)).map((domain) => domain.name);
    assert.deepEqual(await names({}), ["b", "t", "a"]);
    assert.deepEqual(await names({ inactive: true }), ["a"]);
    assert.deepEqual(await names({ transient: true }), ["t"]);
    assert.deepEqual(await names({ running: true, persistent: true }), ["b"]);
  });
});

Deno.test("API accepts the JSON model as a definition", async () => {
  await withService(async (service) => {
    const client = clientOf(service);
    const { uuid } = await client.define({ xml: XML("web") });
    const { definition, modelVersion } = await client.definition("web");
    assert.equal(modelVersion, 1);
    const edited = { ...definition, vcpus: 4 };
    const result = await client.define({ definition: edited });
    assert.equal(result.uuid, uuid);
    assert.equal(result.detail, "updated");
    assert.equal((await client.info("web")).vcpus, 4);
  });
});

Deno.test("API event stream resumes strictly after since, with ids as positions", async () => {
  await withService(async (service) => {
    const client = clientOf(service);
    await client.define({ xml: XML("web") });
    await client.action("web", "start");
    await client.action("web", "destroy");
    const controller = new AbortController();
    const response = await service.api.handle(
      new Request("http://evirt/v1/events?since=1", { signal: controller.signal }),
      "read-only",
    );
    assert.equal(response.headers.get("content-type"), "text/event-stream; charset=utf-8");
    const ids: string[] = [];
    const events: string[] = [];
    for await (const message of parseSse(response.body!)) {
      ids.push(message.id!);
      const data = JSON.parse(message.data);
      events.push(
        data.lifecycle ? `${data.lifecycle.typeName} ${data.lifecycle.detailName}` : data.fact,
      );
      if (ids.length === 5) break;
    }
    controller.abort();
    assert.deepEqual(ids, ["2", "3", "4", "5", "6"]);
    // Intents (launching, ending) are facts of their own, with no libvirt event.
    assert.deepEqual(events, [
      "domain.launching",
      "domain.launched",
      "Started Booted",
      "domain.ending",
      "Stopped Destroyed",
    ]);
  });
});

Deno.test("API event stream filters by domain and event, and Last-Event-ID resumes", async () => {
  await withService(async (service) => {
    const client = clientOf(service);
    await client.define({ xml: XML("a") });
    await client.define({ xml: XML("b") });
    await client.action("b", "start");
    await client.action("b", "reset");
    const controller = new AbortController();
    const response = await service.api.handle(
      new Request("http://evirt/v1/events?domain=b&event=reboot", {
        signal: controller.signal,
        headers: { "last-event-id": "0" },
      }),
      "read-only",
    );
    for await (const message of parseSse(response.body!)) {
      const data = JSON.parse(message.data);
      assert.equal(data.event, "reboot");
      assert.equal(data.domain.name, "b");
      assert.equal(data.eventId, 1);
      break;
    }
    controller.abort();
  });
});

Deno.test("API event stream answers 410 below the oldest retained position", async () => {
  await withService(async (service) => {
    const client = clientOf(service);
    for (let index = 0; index < 3; index++) await client.define({ xml: XML(`d${index}`) });
    await service.host.saveSnapshot();
    await service.store.prune({ keepMax: 1 });
    const response = await service.api.handle(
      new Request("http://evirt/v1/events?since=0"),
      "read-only",
    );
    assert.equal(response.status, 410);
    const body = await response.json();
    assert.equal(body.oldestPosition, 3);
  });
});

Deno.test("API event stream refuses a malformed since and an unknown event name", async () => {
  await withService(async (service) => {
    for (const query of ["since=-1", "since=abc", "event=nope", "since=99"]) {
      const response = await service.api.handle(
        new Request(`http://evirt/v1/events?${query}`),
        "read-only",
      );
      assert.equal(response.status, 400, query);
      assert.equal((await response.json()).error.code, 8);
    }
  });
});

Deno.test("API serves Prometheus metrics", async () => {
  await withService(async (service) => {
    const client = clientOf(service);
    await client.define({ xml: XML("web") });
    await client.action("web", "start");
    await assert.rejects(() => client.action("web", "start"));
    const text = await client.metrics();
    assert.match(text, /^evirt_domains\{state="running"\} 1$/m);
    assert.match(text, /^evirt_operations_total\{operation="virDomainCreate",outcome="ok"\} 1$/m);
    assert.match(text, /^evirt_errors_total\{code="55",name="OPERATION_INVALID"\} 1$/m);
    assert.match(text, /^evirt_log_head_position 4$/m);
    assert.match(text, /^# TYPE evirt_event_subscribers gauge$/m);
  });
});

Deno.test("API OpenAPI document lists every route and every documented route answers", async () => {
  await withService(async (service) => {
    const client = clientOf(service);
    await client.define({ xml: XML("web") });
    // A running dir pool `p` holding `v.raw`, for the storage routes.
    const poolDir = await Deno.makeTempDir({ prefix: "evirt-app-pool-" });
    const storage = await StoragePools.open({
      store: createMemoryStore({ factTypes: STORAGE_FACT_TYPES }),
    });
    service.attachStorage(storage);
    const pool = await storage.define(
      `<pool type='dir'><name>p</name><target><path>${poolDir}</path></target></pool>`,
    );
    await storage.commands.start(pool.uuid, 0);
    await Deno.writeFile(`${poolDir}/v.raw`, new Uint8Array(4096));
    await storage.commands.refresh(pool.uuid);
    // A defined network `n`, for the network routes.
    const networks = await Networks.open({
      store: createMemoryStore({ factTypes: NETWORK_FACT_TYPES }),
      hostLinkExists: () => false,
    });
    service.attachNetworks(networks);
    await networks.define("<network><name>n</name></network>");
    // A secret with a value, for the secret routes.
    const valuesDir = await Deno.makeTempDir({ prefix: "evirt-app-secrets-" });
    const secrets = await Secrets.open({
      store: createMemoryStore({ factTypes: SECRET_FACT_TYPES }),
      valuesDir,
    });
    service.attachSecrets(secrets);
    await secrets.define(`<secret><uuid>${SECRET_UUID}</uuid></secret>`);
    await secrets.setValue(SECRET_UUID, new Uint8Array([1, 2, 3]));
    const documented = new Set<string>();
    for (const [path, operations] of Object.entries(OPENAPI_DOCUMENT.paths)) {
      for (const method of Object.keys(operations)) {
        documented.add(`${method.toUpperCase()} ${path.replaceAll(/\{(\w+)\}/g, ":$1")}`);
      }
    }
    const routed = new Set(service.api.routes.map((route) => `${route.method} ${route.pattern}`));
    assert.deepEqual([...routed].sort(), [...documented].sort());
    // Deletes last, and the undefines after them: they remove what the other routes work on.
    const rank = (route: string) =>
      route === "DELETE /v1/pools/:pool" || route === "DELETE /v1/domains/:ref" ||
        route === "DELETE /v1/networks/:network"
        ? 2
        : Number(route.startsWith("DELETE"));
    const order = [...documented].sort((a, b) => rank(a) - rank(b));
    for (const route of order) {
      const [method, pattern] = route.split(" ");
      const path = pattern.replace(":ref", "web").replace(":pool", "p").replace(":volume", "v.raw")
        .replace(":network", "n").replace(":secret", SECRET_UUID);
      const controller = new AbortController();
      const response = await service.api.handle(
        new Request(`http://evirt${path}${path.includes("metadata") ? "?type=title" : ""}`, {
          method,
          signal: controller.signal,
          ...(method === "POST" || method === "PUT" ? { body: "" } : {}),
        }),
        "read-write",
      );
      controller.abort();
      await response.body?.cancel();
      // It answers: a 404 may only be the domain-level "no metadata", "no such snapshot" or
      // "no such network port", never "no such route".
      assert.notEqual(response.status, 405, route);
      if (response.status === 404) {
        assert.ok(
          path.includes("metadata") || path.includes("snapshot") || path.includes("/ports/"),
          `${route} answered 404`,
        );
      }
      // The test hypervisor, as libvirt's test driver, has no summary block statistics (code 84),
      // no domain capabilities, QEMU monitor, guest agent or device changes (code 3).
      const unimplemented = (route === "GET /v1/domains/:ref/blocks/stats" ||
        route.includes("/devices") ||
        route === "GET /v1/host/domain-capabilities" ||
        // A service on a local (SQLite) log belongs to no fleet (code 3).
        route.startsWith("GET /v1/fleet/") ||
        route.endsWith("/qemu-monitor-command") || route.endsWith("/qemu-agent-command") ||
        // evirt has no network runtime yet: a network start is refused with code 84.
        route === "POST /v1/networks/:network/actions/start") &&
        response.status === 501;
      assert.ok(response.status < 500 || unimplemented, `${route} answered ${response.status}`);
    }
    await storage.close();
    await Deno.remove(poolDir, { recursive: true });
    await Deno.remove(valuesDir, { recursive: true });
  });
});

Deno.test("API answers 'busy' with code 87 and Retry-After when the queue deadline passes", async () => {
  const service = await createServiceCore({
    store: createMemoryStore(),
    checkAnswers: true,
    drivers: [new TestDriver({ latencies: { launchMs: 300 } })],
    xmlMaxBytes: 64 * 1024,
    log: () => {},
  });
  try {
    const client = clientOf(service);
    await client.define({ xml: XML("web") });
    const starting = client.action("web", "start");
    await new Promise((resolve) => setTimeout(resolve, 20));
    const response = await service.api.handle(
      new Request("http://evirt/v1/domains/web/actions/suspend?queue_timeout_ms=30", {
        method: "POST",
      }),
      "read-write",
    );
    assert.equal(response.status, 503);
    assert.equal(response.headers.get("retry-after"), "1");
    const body = await response.json();
    assert.equal(body.error.code, 87);
    assert.match(body.error.message, /^resource busy: domain 'web' is busy with start since /);
    await starting;
  } finally {
    await service.close();
  }
});
