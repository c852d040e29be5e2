import assert from "node:assert/strict";
import { type WireDomain } from "../../../src/rpc/protocol.ts";
import { serveRpc } from "../../../src/rpc/server.ts";
import { EVENT_STREAM_DEFAULTS } from "../../../src/service/service.ts";
import { RpcReplyError, RpcTestClient } from "../../support/rpc_client.ts";
import { startSocketService } from "../../support/socket_service.ts";
import { TEST_NODE_INFO } from "../../../drivers/test/test_driver.ts";

const TEST_XML = `<domain type='test'><name>web</name><memory>65536</memory><vcpu>1</vcpu>
<os><type>hvm</type></os><devices/></domain>`;

/** The service with one test-type domain, its RPC socket, and a client opened on `uri`. */
async function withConnection(
  uri: string,
  body: (client: RpcTestClient, web: string) => Promise<void>,
): Promise<void> {
  const service = await startSocketService();
  const socketPath = `${service.dir}/libvirt-sock`;
  const rpc = await serveRpc({
    socketPath,
    readOnlySocketPath: `${service.dir}/libvirt-sock-ro`,
    service: {
      host: service.core.host,
      hub: service.core.hub,
      events: EVENT_STREAM_DEFAULTS,
      xmlMaxBytes: 65536,
      hostname: () => "evirt-test",
      nodeInfo: () => TEST_NODE_INFO,
    },
    log: () => {},
  });
  await service.client.define({ xml: TEST_XML });
  const client = await RpcTestClient.connect(socketPath);
  try {
    await client.call("virConnectAuthList");
    await client.call("virConnectOpen", { name: uri, flags: 0 });
    await body(client, service.core.host.uuidOfName("web")!);
  } finally {
    await client.close();
    await rpc.shutdown();
    await service.stop();
  }
}

async function listed(client: RpcTestClient): Promise<string[]> {
  const answer = await client.call("virConnectListAllDomains", { need_results: 1, flags: 0 }) as {
    domains: WireDomain[];
  };
  return answer.domains.map((domain) => domain.name);
}

async function refusedWith(promise: Promise<unknown>, code: number, message: string) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof RpcReplyError, String(error));
    assert.equal(error.code, code, error.message);
    assert.equal(error.message, message);
    return true;
  });
}

Deno.test("lxc:///system is the LXC driver's connection: its type and URI", async () => {
  await withConnection("lxc:///system", async (client) => {
    assert.deepEqual(await client.call("virConnectGetType"), { type: "LXC" });
    assert.deepEqual(await client.call("virConnectGetURI"), { uri: "lxc:///system" });
  });
});

Deno.test("lxc:/// opens the same connection as lxc:///system", async () => {
  await withConnection("lxc:///", async (client) => {
    assert.deepEqual(await client.call("virConnectGetURI"), { uri: "lxc:///system" });
  });
});

Deno.test("an LXC connection neither lists nor finds domains of other types", async () => {
  await withConnection("lxc:///system", async (client) => {
    assert.deepEqual(await listed(client), []);
    assert.deepEqual(await client.call("virConnectNumOfDefinedDomains"), { num: 0 });
    await refusedWith(
      client.call("virDomainLookupByName", { name: "web" }),
      42,
      "Domain not found: no domain with matching name 'web'",
    );
  });
});

Deno.test("an LXC connection refuses to define a domain of another type", async () => {
  await withConnection("lxc:///system", async (client) => {
    await refusedWith(
      client.call("virDomainDefineXML", { xml: TEST_XML.replace("web", "db") }),
      8,
      "invalid argument: could not find capabilities for arch=x86_64 domaintype=test ",
    );
  });
});

Deno.test("qemu:///system and evirt:///system still see the test domain", async () => {
  for (const uri of ["qemu:///system", "evirt:///system"]) {
    await withConnection(uri, async (client) => {
      assert.deepEqual(await listed(client), ["web"], uri);
    });
  }
});
