import assert from "node:assert/strict";
import { EvirtClient, parseSse } from "../../../src/client/client.ts";
import { isVirtError } from "../../../src/model/errors.ts";
import { startSocketService } from "../../support/socket_service.ts";

const PASSWORD = "s3cret-console-password";
const XML = `<domain type='test'><name>web</name><memory>65536</memory><vcpu>1</vcpu>
<os><type>hvm</type></os><devices>
<graphics type='vnc' port='-1' autoport='yes' passwd='${PASSWORD}'/>
</devices></domain>`;
const RO_TOKEN = "ro-token-0123456789abcdef";

Deno.test("domain XML with the secure flag is refused to read-only callers with code 29, as libvirt does", async () => {
  const r = await startSocketService({ tokens: [{ role: "read-only", token: RO_TOKEN }] });
  try {
    await r.client.define({ xml: XML });
    const overTcp = new EvirtClient(
      (request) => {
        request.headers.set("authorization", `Bearer ${RO_TOKEN}`);
        return fetch(request);
      },
      `http://127.0.0.1:${r.server.tcpPort}`,
    );
    for (const readOnly of [r.readOnly, overTcp]) {
      await assert.rejects(
        () => readOnly.xml("web", { secure: true }),
        (error) =>
          isVirtError(error, 29) &&
          error.fullMessage === "operation forbidden: virDomainGetXMLDesc with secure flag",
      );
      assert.doesNotMatch(await readOnly.xml("web"), /passwd/);
      assert.doesNotMatch(await readOnly.xml("web", { inactive: true }), /passwd/);
    }
    assert.match(await r.client.xml("web", { secure: true }), new RegExp(`passwd='${PASSWORD}'`));
  } finally {
    await r.stop();
  }
});

Deno.test("domain definition as JSON carries no secrets for read-only callers and refuses them secure", async () => {
  const r = await startSocketService();
  try {
    await r.client.define({ xml: XML });
    const shown = await r.readOnly.definition("web");
    assert.equal(shown.definition.devices.graphics.length, 1);
    assert.equal(shown.definition.devices.graphics[0].passwd, undefined);
    assert.doesNotMatch(JSON.stringify(shown), new RegExp(PASSWORD));
    const response = await fetch("http://evirt/v1/domains/web/definition?secure=1", {
      client: Deno.createHttpClient({ proxy: { transport: "unix", path: r.readOnlySocketPath } }),
    });
    assert.equal(response.status, 403);
    assert.equal((await response.json()).error.code, 29);
    // A read-write caller (root-equivalent) still reads the whole definition back.
    assert.equal(
      (await r.client.definition("web")).definition.devices.graphics[0].passwd,
      PASSWORD,
    );
  } finally {
    await r.stop();
  }
});

Deno.test("domain secrets appear in no event-stream message and no log line", async () => {
  const lines: string[] = [];
  const r = await startSocketService({ logLine: (line) => lines.push(line) });
  try {
    await r.client.define({ xml: XML });
    await r.client.action("web", "start");
    await r.client.action("web", "destroy");
    const controller = new AbortController();
    const response = await fetch("http://evirt/v1/events?since=0", {
      client: Deno.createHttpClient({ proxy: { transport: "unix", path: r.readOnlySocketPath } }),
      signal: controller.signal,
    });
    const messages: string[] = [];
    for await (const message of parseSse(response.body!)) {
      messages.push(message.data);
      if (Number(message.id) === r.store.headPosition()) break;
    }
    controller.abort();
    assert.ok(messages.length >= 3);
    for (const text of [...messages, ...lines]) assert.doesNotMatch(text, new RegExp(PASSWORD));
  } finally {
    await r.stop();
  }
});
