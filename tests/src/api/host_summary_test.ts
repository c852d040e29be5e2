import assert from "node:assert/strict";
import { serveRpc } from "../../../src/rpc/server.ts";
import { EVENT_STREAM_DEFAULTS } from "../../../src/service/service.ts";
import type { SubscriberCounts } from "../../../src/api/metrics.ts";
import type { EvirtClient } from "../../../src/client/client.ts";
import { TEST_NODE_INFO } from "../../../drivers/test/test_driver.ts";
import { RpcTestClient } from "../../support/rpc_client.ts";
import { startSocketService } from "../../support/socket_service.ts";

const XML = `<domain type='test'><name>summary</name><memory>65536</memory><vcpu>1</vcpu>
<os><type>hvm</type></os><devices/></domain>`;
const TOKEN = "host-summary-test-token-0123";
/** Longest a count may take to follow a subscriber that came or went, in ms. */
const COUNT_WAIT_MS = 5_000;

/** Waits until the summary's subscriber counts are `expected`. */
async function countsBecome(client: EvirtClient, expected: SubscriberCounts): Promise<void> {
  const started = performance.now();
  for (;;) {
    const { subscribers } = await client.hostSummary();
    if (JSON.stringify(subscribers) === JSON.stringify(expected)) return;
    assert.ok(
      performance.now() - started < COUNT_WAIT_MS,
      `subscribers ${JSON.stringify(subscribers)}, expected ${JSON.stringify(expected)}`,
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

Deno.test("host summary: the log's position and the event stream's subscribers by kind, each counted while it follows", async () => {
  const service = await startSocketService({ tokens: [{ role: "read-only", token: TOKEN }] });
  const rpc = await serveRpc({
    socketPath: `${service.dir}/libvirt-sock`,
    readOnlySocketPath: `${service.dir}/libvirt-sock-ro`,
    service: {
      host: service.core.host,
      hub: service.core.hub,
      events: EVENT_STREAM_DEFAULTS,
      xmlMaxBytes: 65536,
      hostname: () => "evirt-test",
      nodeInfo: () => TEST_NODE_INFO,
      eventCallbacks: (delta) => service.core.metrics.subscriber(delta, "rpc"),
    },
    log: () => {},
  });
  const stops: (() => Promise<void> | void)[] = [];
  try {
    const none = { sse: 0, websocket: 0, rpc: 0, fleet: 0 };
    const empty = await service.readOnly.hostSummary();
    assert.deepEqual(empty, { log: { position: 0, oldestPosition: 1 }, subscribers: none });
    await service.client.define({ xml: XML });
    await service.client.action("summary", "start");
    // define (1), launching (2), launched (3), started (4).
    assert.deepEqual((await service.readOnly.hostSummary()).log, {
      position: 4,
      oldestPosition: 1,
    });

    // An SSE subscriber.
    const sse = new AbortController();
    const events = service.readOnly.events({ signal: sse.signal })[Symbol.asyncIterator]();
    const firstEvent = events.next();
    stops.push(async () => {
      sse.abort();
      await firstEvent.catch(() => {});
    });
    await countsBecome(service.readOnly, { ...none, sse: 1 });

    // A WebSocket subscriber.
    const socket = new WebSocket(
      `ws://127.0.0.1:${service.server.tcpPort}/v1/events`,
      { headers: { authorization: `Bearer ${TOKEN}` } } as unknown as string[],
    );
    const closed = new Promise((resolve) => socket.addEventListener("close", resolve));
    stops.push(async () => {
      socket.close();
      await closed;
    });
    await countsBecome(service.readOnly, { ...none, sse: 1, websocket: 1 });

    // Two libvirt-protocol callbacks on the service's host; a deregistered one leaves.
    const libvirt = await RpcTestClient.connect(`${service.dir}/libvirt-sock`);
    stops.push(() => libvirt.close());
    await libvirt.call("virConnectAuthList");
    await libvirt.call("virConnectOpen", { name: "qemu:///system", flags: 0 });
    const { callbackID } = await libvirt.call("virConnectDomainEventCallbackRegisterAny", {
      eventID: 0,
      dom: null,
    }) as { callbackID: number };
    await libvirt.call("virConnectDomainEventCallbackRegisterAny", { eventID: 1, dom: null });
    await countsBecome(service.readOnly, { ...none, sse: 1, websocket: 1, rpc: 2 });
    await libvirt.call("virConnectDomainEventCallbackDeregisterAny", { callbackID });
    await countsBecome(service.readOnly, { ...none, sse: 1, websocket: 1, rpc: 1 });
    // Closing the connection drops what it still had registered.
    await libvirt.close();
    await countsBecome(service.readOnly, { ...none, sse: 1, websocket: 1 });

    for (const stop of stops.splice(0).reverse()) await stop();
    await countsBecome(service.readOnly, none);
  } finally {
    for (const stop of stops.reverse()) await stop();
    await rpc.shutdown();
    await service.stop();
  }
});
