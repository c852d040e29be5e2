import assert from "node:assert/strict";
import { TestDriver } from "../../../drivers/test/test_driver.ts";
import { createMemoryStore } from "../../../src/log/memory_store.ts";
import { createServiceCore, type ServiceCore } from "../../../src/service/service.ts";
import { DEFINITION_INLINE_MAX_BYTES } from "../../../src/api/definition_reader.ts";

/** The service's default body limit, so the largest hostile bodies reach the parser. */
const XML_MAX_BYTES = 4 * 1024 * 1024;

async function withService(fn: (service: ServiceCore) => Promise<void>): Promise<void> {
  const service = await createServiceCore({
    store: createMemoryStore(),
    checkAnswers: true,
    drivers: [new TestDriver()],
    xmlMaxBytes: XML_MAX_BYTES,
    log: () => {},
  });
  try {
    await fn(service);
  } finally {
    await service.close();
  }
}

function domainXml(name: string, devices = ""): string {
  return `<domain type='test'><name>${name}</name><memory unit='MiB'>64</memory>` +
    `<os><type>hvm</type></os><devices>${devices}</devices></domain>`;
}

function define(service: ServiceCore, body: string, type = "application/xml"): Promise<Response> {
  return service.api.handle(
    new Request("http://evirt/v1/domains", {
      method: "POST",
      headers: { "content-type": type },
      body,
    }),
    "read-write",
  );
}

async function refusal(response: Response): Promise<{ code: number; where?: string }> {
  const json = await response.json();
  assert.equal(response.status, 400, JSON.stringify(json));
  return json.error;
}

Deno.test("define refuses 100,000 serial devices with code 27 and appends nothing", async () => {
  await withService(async (service) => {
    const body = domainXml("many", "<serial type='null'/>".repeat(100_000));
    assert.ok(body.length > 2_000_000);
    const error = await refusal(await define(service, body));
    assert.equal(error.code, 27);
    assert.match(error.where ?? "", /in \/domain\/devices$/);
    assert.equal(service.store.headPosition(), 0);
    assert.equal(service.host.list().length, 0);
  });
});

Deno.test("define refuses more serials than the limit with code 67 naming the first extra one", async () => {
  await withService(async (service) => {
    const error = await refusal(
      await define(service, domainXml("many", "<serial type='null'/>".repeat(1000))),
    );
    assert.deepEqual([error.code, error.where], [67, "/domain/devices/serial[33]"]);
    assert.equal(service.store.headPosition(), 0);
  });
});

Deno.test("define refuses too many devices in the JSON model too", async () => {
  await withService(async (service) => {
    const response = await define(service, domainXml("seed"));
    assert.equal(response.status, 201);
    await response.body?.cancel();
    const definition = service.host.context(service.host.lookup("seed").uuid).definition!;
    const head = service.store.headPosition();
    const json = JSON.stringify({
      ...definition,
      name: "json-many",
      uuid: undefined,
      devices: { ...definition.devices, inputs: Array(33).fill({ type: "tablet", bus: "usb" }) },
    });
    const error = await refusal(await define(service, json, "application/json"));
    assert.deepEqual([error.code, error.where], [67, "/domain/devices/input[33]"]);
    assert.equal(service.store.headPosition(), head);
  });
});

Deno.test("define refuses names libvirt refuses and appends nothing", async () => {
  await withService(async (service) => {
    const cases: [string, number][] = [
      ["n".repeat(65536), 38],
      ["z".repeat(248), 38],
      [".", 38],
      ["..", 38],
      ["a/b", 27],
      ["", 21],
    ];
    for (const [name, code] of cases) {
      const error = await refusal(await define(service, domainXml(name)));
      assert.deepEqual([error.code, error.where], [code, "/domain/name"], name.slice(0, 20));
    }
    assert.equal(service.store.headPosition(), 0);
  });
});

Deno.test("define accepts a name of spaces and one of 247 bytes, as libvirt", async () => {
  await withService(async (service) => {
    for (const name of [" ", "y".repeat(247)]) {
      const response = await define(service, domainXml(name));
      assert.equal(response.status, 201, await response.text());
    }
    assert.equal(service.host.list().length, 2);
  });
});

Deno.test("define reads a body larger than the main-loop size on a worker thread", async () => {
  await withService(async (service) => {
    const description = "d".repeat(DEFINITION_INLINE_MAX_BYTES * 4);
    const body = domainXml("large").replace(
      "</name>",
      `</name><description>${description}</description>`,
    );
    const response = await define(service, body);
    assert.equal(response.status, 201, await response.text());
    const stored = service.host.context(service.host.lookup("large").uuid).definition!;
    assert.equal(stored.description, description);
  });
});

Deno.test("large definitions are defined at most two at a time; the rest wait their turn", async () => {
  await withService(async (service) => {
    const padding = "x".repeat(DEFINITION_INLINE_MAX_BYTES + 1024);
    let mostHeld = 0;
    const sampler = setInterval(() => {
      mostHeld = Math.max(mostHeld, service.largeDefinitions.heldBytes);
    }, 1);
    try {
      const answers = await Promise.all(
        Array.from({ length: 6 }, (_, index) =>
          define(
            service,
            domainXml(`big${index}`).replace(
              "</domain>",
              `<description>${padding}</description></domain>`,
            ),
          )),
      );
      assert.deepEqual(answers.map((answer) => answer.status), [201, 201, 201, 201, 201, 201]);
      for (const answer of answers) await answer.body?.cancel();
    } finally {
      clearInterval(sampler);
    }
    assert.ok(mostHeld >= 1 && mostHeld <= 2, `held at most ${mostHeld}`);
    assert.equal(service.largeDefinitions.heldBytes, 0, "every turn is given back");
    assert.equal(service.host.list().length, 6);
  });
});
