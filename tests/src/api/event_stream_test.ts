import assert from "node:assert/strict";
import { createMemoryStore } from "../../../src/log/memory_store.ts";
import { createServiceCore, type ServiceCore } from "../../../src/service/service.ts";
import { TestDriver } from "../../../drivers/test/test_driver.ts";
import { startSocketService } from "../../support/socket_service.ts";
import type { EventStreamSettings } from "../../../src/api/api_context.ts";
import { EvirtClient, parseSse } from "../../../src/client/client.ts";

const XML = (name: string) =>
  `<domain type='test'><name>${name}</name><memory>65536</memory><vcpu>1</vcpu>` +
  `<os><type>hvm</type></os><devices/></domain>`;
const TOKEN = "event-stream-test-token-0123";

async function core(events: Partial<EventStreamSettings>): Promise<ServiceCore> {
  return await createServiceCore({
    store: createMemoryStore(),
    checkAnswers: true,
    drivers: [new TestDriver()],
    xmlMaxBytes: 65536,
    events,
    log: () => {},
  });
}

function clientOf(service: ServiceCore): EvirtClient {
  return new EvirtClient((request) => service.api.handle(request, "read-write"));
}

Deno.test("event stream over a WebSocket sends one JSON message per fact, in order, filtered", async () => {
  const socketService = await startSocketService({
    tokens: [{ role: "read-only", token: TOKEN }],
  });
  const { core: service, server } = socketService;
  try {
    const client = clientOf(service);
    await client.define({ xml: XML("web") });
    await client.action("web", "start");
    await client.action("web", "reset");
    const socket = new WebSocket(
      `ws://127.0.0.1:${server.tcpPort}/v1/events?since=0&event=lifecycle&event=reboot`,
      { headers: { authorization: `Bearer ${TOKEN}` } } as unknown as string[],
    );
    const received: { position: number; event: string }[] = [];
    await new Promise<void>((resolve, reject) => {
      socket.onmessage = (message) => {
        received.push(JSON.parse(message.data));
        if (received.length === 3) resolve();
      };
      socket.onerror = () => reject(new Error("websocket failed"));
    });
    socket.close();
    // define (1), launching (2) and launched (3) with no libvirt event: filtered out, started
    // (4), resetting (5, an intent: filtered out), reset (6).
    assert.deepEqual(received.map((message) => [message.position, message.event]), [
      [1, "lifecycle"],
      [4, "lifecycle"],
      [6, "reboot"],
    ]);
    await new Promise((resolve) => setTimeout(resolve, 50));
  } finally {
    await socketService.stop();
  }
});

Deno.test("event stream sends heartbeats as SSE comments without an id", async () => {
  const service = await core({ heartbeatMs: 30 });
  try {
    const controller = new AbortController();
    const response = await service.api.handle(
      new Request("http://evirt/v1/events", { signal: controller.signal }),
      "read-only",
    );
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while ((text.match(/: heartbeat\n\n/g) ?? []).length < 2) {
      const { value, done } = await reader.read();
      assert.ok(!done);
      text += value;
    }
    await reader.cancel();
    assert.doesNotMatch(text, /^id:/m);
    assert.match(text, /^: evirt event stream\n\n: heartbeat\n\n/);
  } finally {
    await service.close();
  }
});

Deno.test("event stream drops a subscriber that stops reading, saying why and where to resume", async () => {
  const service = await core({
    subscriberBufferMax: 256,
    subscriberStallMs: 200,
    heartbeatMs: 60_000,
  });
  try {
    const client = clientOf(service);
    for (let index = 0; index < 4; index++) {
      await client.define({ xml: XML(`d${index}`) });
      await client.action(`d${index}`, "start");
    }
    const response = await service.api.handle(
      new Request("http://evirt/v1/events?since=0"),
      "read-only",
    );
    // Produce far more than the subscriber's buffer while it reads nothing.
    for (let round = 0; round < 300; round++) {
      await client.action(`d${round % 4}`, "suspend");
      await client.action(`d${round % 4}`, "resume");
    }
    await new Promise((resolve) => setTimeout(resolve, 600));
    const positions: number[] = [];
    let dropped: { reason: string; resumeAfter: number } | undefined;
    for await (const message of parseSse(response.body!)) {
      if (message.event === "dropped") dropped = JSON.parse(message.data);
      else positions.push(Number(message.id));
    }
    assert.ok(dropped !== undefined, "no dropped notice");
    assert.match(
      dropped.reason,
      /^slow subscriber: its buffer of 256 messages stayed full for 200 ms/,
    );
    assert.equal(dropped.resumeAfter, positions.at(-1) ?? 0);
    assert.ok(positions.length < service.store.headPosition(), "everything was delivered");
    // Nothing is lost: resuming after the notice's position delivers the rest, once each.
    const rest: number[] = [];
    const controller = new AbortController();
    for await (
      const event of client.events({ since: dropped.resumeAfter, signal: controller.signal })
    ) {
      rest.push(event.position);
      if (event.position === service.store.headPosition()) controller.abort();
    }
    const all = [...positions, ...rest];
    assert.deepEqual(all, Array.from({ length: all.length }, (_, index) => index + 1));
    assert.equal(all.length, service.store.headPosition());
    assert.match(await client.metrics(), /^evirt_event_subscribers_dropped_total 1$/m);
  } finally {
    await service.close();
  }
});

Deno.test("event stream refuses a subscriber beyond its bound with code 87", async () => {
  const service = await core({ subscribersMax: 1, heartbeatMs: 60_000 });
  try {
    const first = await service.api.handle(new Request("http://evirt/v1/events"), "read-only");
    const reader = first.body!.getReader();
    await reader.read();
    const second = await service.api.handle(new Request("http://evirt/v1/events"), "read-only");
    assert.equal(second.status, 503);
    assert.equal((await second.json()).error.code, 87);
    await reader.cancel();
  } finally {
    await service.close();
  }
});

Deno.test("event stream with summary=true pushes the host summary at its start and at each subscriber change, without an id", async () => {
  const service = await core({ heartbeatMs: 60_000 });
  const open = async (query: string) => {
    const response = await service.api.handle(
      new Request(`http://evirt/v1/events${query}`),
      "read-only",
    );
    assert.equal(response.status, 200);
    return response.body!.pipeThrough(new TextDecoderStream()).getReader();
  };
  try {
    const watcher = await open("?summary=true");
    let text = "";
    const readUntil = async (done: () => boolean) => {
      while (!done()) {
        const next = await watcher.read();
        assert.ok(!next.done);
        text += next.value;
      }
    };
    const summaries = () => [...text.matchAll(/^event: summary\ndata: (.*)$/gm)];
    /** The `count`th summary pushed. */
    const summary = async (count: number) => {
      await readUntil(() => summaries().length >= count);
      return JSON.parse(summaries()[count - 1][1]);
    };
    const none = { sse: 0, websocket: 0, rpc: 0, fleet: 0 };
    assert.deepEqual(await summary(1), {
      log: { position: 0, oldestPosition: 1 },
      subscribers: { ...none, sse: 1 },
    });
    const other = await open("");
    assert.deepEqual((await summary(2)).subscribers, { ...none, sse: 2 });
    await other.cancel();
    assert.deepEqual((await summary(3)).subscribers, { ...none, sse: 1 });
    // A fact is a message; it moves the position but pushes no summary.
    await clientOf(service).define({ xml: XML("pushed") });
    await readUntil(() => /^id: 1$/m.test(text));
    assert.equal(summaries().length, 3);
    for (const block of text.split("\n\n").filter((block) => block.includes("event: summary"))) {
      assert.doesNotMatch(block, /^id:/m, "a summary never moves a client's resume position");
    }
    await watcher.cancel();

    for (const query of ["?summary=true&scope=fleet", "?summary=maybe"]) {
      const refused = await service.api.handle(
        new Request(`http://evirt/v1/events${query}`),
        "read-only",
      );
      assert.equal(refused.status, 400, query);
      assert.equal((await refused.json()).error.code, 8, query);
    }
  } finally {
    await service.close();
  }
});
