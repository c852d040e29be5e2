import assert from "node:assert/strict";
import { openNatsStore } from "../../../src/log/nats_store.ts";
import { EventStoreWriteError } from "../../../src/log/errors.ts";
import { missing, testIf } from "../../support/environment.ts";
import { startNatsServer } from "../../support/nats_server.ts";
import { noted, range, runEventStoreContract } from "./event_store_contract.ts";

const skip = missing("nats-server");

if (skip !== undefined) {
  testIf("NatsStore: the event store contract on JetStream", skip, () => {});
} else {
  const server = await startNatsServer();
  let hosts = 0;
  const nextHost = () => `h${Date.now().toString(36)}${hosts++}`;

  runEventStoreContract("NatsStore", async (options) => {
    const store = await openNatsStore({ ...options, servers: server.url, host: nextHost() });
    return { store, cleanup: () => store.close() };
  });

  Deno.test("NatsStore: a reopened log has its facts, versions, snapshots and retention", async () => {
    const host = nextHost();
    const first = await openNatsStore({ servers: server.url, host });
    await first.append("a", range(1, 5).map(noted), 0);
    await first.append("b", [noted(6)], 0);
    await first.saveSnapshot({ position: 4, state: { upTo: 4 } });
    await first.prune({ keepMax: 2 });
    assert.equal(first.oldestPosition(), 5);
    await first.close();

    const again = await openNatsStore({ servers: server.url, host });
    try {
      assert.equal(again.headPosition(), 6);
      assert.equal(again.oldestPosition(), 5);
      assert.equal(await again.streamVersion("a"), 5);
      assert.equal(await again.streamVersion("b"), 1);
      assert.deepEqual((await again.readAll({ afterPosition: 4 })).map((fact) => fact.body), [
        { n: 5 },
        { n: 6 },
      ]);
      assert.deepEqual(await again.loadSnapshot(), { position: 4, state: { upTo: 4 } });
      // Appends go on where the log ends, with the versions retention kept.
      assert.equal((await again.append("a", [noted(7)], 5)).firstPosition, 7);
    } finally {
      await again.close();
    }
  });

  Deno.test("NatsStore: a second writer on the same host log is refused, and the first stops", async () => {
    const host = nextHost();
    const stale = await openNatsStore({ servers: server.url, host });
    const current = await openNatsStore({ servers: server.url, host });
    try {
      await stale.append("a", [noted(1)], 0);
      // `current` read the log before that append: its next write expects an older sequence.
      const refused = await current.append("b", [noted(2)], 0).catch((error) => error);
      assert.ok(refused instanceof EventStoreWriteError, String(refused));
      assert.equal(refused.failure.kind, "superseded");
      assert.equal(current.headPosition(), 0);
      const after = await current.append("c", [noted(3)], 0).catch((error) => error);
      assert.ok(after instanceof EventStoreWriteError);
    } finally {
      await stale.close();
      await current.close();
    }
  });

  Deno.test("NatsStore: a commit larger than the server's max_payload is read back whole", async () => {
    const host = nextHost();
    const store = await openNatsStore({ servers: server.url, host });
    const big = "x".repeat(3 * 1024 * 1024);
    await store.append("big", [{ type: "Big", body: { big } }, noted(2)], 0);
    await store.close();
    const again = await openNatsStore({ servers: server.url, host });
    try {
      const facts = await again.readAll({ afterPosition: 0 });
      assert.equal(facts.length, 2);
      assert.equal((facts[0].body as { big: string }).big.length, big.length);
    } finally {
      await again.close();
    }
  });

  Deno.test("NatsStore: bad options are refused before anything is written", async () => {
    await assert.rejects(
      () => openNatsStore({ servers: server.url, host: "no.dots" }),
      /host must be 1 to 64 letters/,
    );
    await assert.rejects(
      () => openNatsStore({ servers: server.url, host: "ok", replicas: 0 }),
      /replicas must be an integer/,
    );
  });

  Deno.test("NatsStore: stop the test server", () => server.stop());
}
