import assert from "node:assert/strict";
import { createMemoryStore } from "../../../src/log/memory_store.ts";
import { createServiceCore } from "../../../src/service/service.ts";
import { TestDriver } from "../../../drivers/test/test_driver.ts";
import { roleOfBearer, serveApi } from "../../../src/api/server.ts";
import { EvirtClient, httpTransport } from "../../../src/client/client.ts";
import { type SocketService, startSocketService } from "../../support/socket_service.ts";
import { isVirtError } from "../../../src/model/errors.ts";

const XML = `<domain type='test'><name>web</name><memory>65536</memory><vcpu>1</vcpu>
<os><type>hvm</type></os><devices/></domain>`;
const RW_TOKEN = "rw-token-0123456789abcdef";
const RO_TOKEN = "ro-token-0123456789abcdef";

const TOKENS = [
  { role: "read-write" as const, token: RW_TOKEN },
  { role: "read-only" as const, token: RO_TOKEN },
];

function rig(): Promise<SocketService> {
  return startSocketService({ tokens: TOKENS });
}

Deno.test("serveApi gives the read-write socket mode 0660 and the read-only one 0666", async () => {
  const r = await rig();
  try {
    assert.equal((await Deno.stat(`${r.dir}/evirt.sock`)).mode! & 0o777, 0o660);
    assert.equal((await Deno.stat(`${r.dir}/evirt-ro.sock`)).mode! & 0o777, 0o666);
  } finally {
    await r.stop();
  }
});

Deno.test("serveApi lets the read-write socket define and the read-only socket only read", async () => {
  const r = await rig();
  try {
    const { client: readWrite, readOnly } = r;
    await readWrite.define({ xml: XML });
    assert.equal((await readOnly.listDomains())[0].name, "web");
    await assert.rejects(
      () => readOnly.action("web", "start"),
      (error) => isVirtError(error, 29),
    );
    assert.equal((await readOnly.state("web")).stateName, "shut off");
  } finally {
    await r.stop();
  }
});

Deno.test("serveApi over TCP answers 401 (code 45) without a valid token and 403 to a read-only token", async () => {
  const r = await rig();
  try {
    const base = `http://127.0.0.1:${r.server.tcpPort}`;
    for (const token of [undefined, "wrong-token-0123456789"]) {
      const response = await fetch(`${base}/v1/domains`, {
        headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      });
      assert.equal(response.status, 401);
      assert.equal((await response.json()).error.code, 45);
    }
    const readOnly = new EvirtClient(httpTransport(RO_TOKEN), base);
    const readWrite = new EvirtClient(httpTransport(RW_TOKEN), base);
    await readWrite.define({ xml: XML });
    await assert.rejects(() => readOnly.undefine("web"), (error) => isVirtError(error, 29));
    assert.equal((await readOnly.listDomains()).length, 1);
  } finally {
    await r.stop();
  }
});

Deno.test("serveApi removes a stale socket but refuses one something answers on", async () => {
  const dir = await Deno.makeTempDir({ prefix: "evirt-server-" });
  const core = await createServiceCore({
    store: createMemoryStore(),
    drivers: [new TestDriver()],
    xmlMaxBytes: 65536,
    log: () => {},
  });
  try {
    // A stale socket: bound, then its listener closed without removing the file.
    const stale = Deno.listen({ transport: "unix", path: `${dir}/evirt.sock` });
    stale.close();
    const live = Deno.listen({ transport: "unix", path: `${dir}/evirt-ro.sock` });
    await assert.rejects(
      () =>
        serveApi(core.api, {
          socketPath: `${dir}/evirt.sock`,
          readOnlySocketPath: `${dir}/evirt-ro.sock`,
        }),
      /another service is listening on/,
    );
    live.close();
    const server = await serveApi(core.api, {
      socketPath: `${dir}/evirt.sock`,
      readOnlySocketPath: `${dir}/evirt-ro.sock`,
    });
    await server.shutdown();
  } finally {
    await core.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("roleOfBearer matches tokens exactly", () => {
  const tokens = [{ role: "read-only" as const, token: RO_TOKEN }];
  assert.equal(roleOfBearer(`Bearer ${RO_TOKEN}`, tokens), "read-only");
  assert.equal(roleOfBearer(`bearer ${RO_TOKEN}`, tokens), "read-only");
  assert.equal(roleOfBearer(`Bearer ${RO_TOKEN}x`, tokens), undefined);
  assert.equal(roleOfBearer(`Basic ${RO_TOKEN}`, tokens), undefined);
  assert.equal(roleOfBearer(null, tokens), undefined);
});
