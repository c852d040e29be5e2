import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { HostRegistry } from "../../../src/log/host_registry.ts";
import { missing, testIf } from "../../support/environment.ts";
import { startNatsServer } from "../../support/nats_server.ts";

const identity = (name: string) => ({ name, drivers: ["test"], cpus: 2, memoryKiB: 1024 });

testIf(
  "HostRegistry: hosts register alive; a stopped heartbeat is marked lost once; a return is alive",
  missing("nats-server"),
  async () => {
    const server = await startNatsServer();
    const connections = await Promise.all(
      [1, 2, 3].map(() => connect({ servers: server.url })),
    );
    try {
      const changes: string[] = [];
      const a = await HostRegistry.open(connections[0], {
        identity: identity("a"),
        ttlMs: 1000,
        onChange: (change) => changes.push(`a saw ${change.host} ${change.state}`),
      });
      const b = await HostRegistry.open(connections[1], {
        identity: identity("b"),
        ttlMs: 1000,
        onChange: (change) => changes.push(`b saw ${change.host} ${change.state}`),
      });
      let c = await HostRegistry.open(connections[2], { identity: identity("c"), ttlMs: 1000 });
      assert.deepEqual(
        (await a.hosts()).map((host) => [host.name, host.state]),
        [["a", "alive"], ["b", "alive"], ["c", "alive"]],
      );
      // c stops beating (a crash, say): within the TTL plus a beat it is lost, and exactly one
      // observer recorded it.
      await c.close();
      const deadline = Date.now() + 5000;
      while (!(await b.hosts()).some((host) => host.name === "c" && host.state === "lost")) {
        assert.ok(Date.now() < deadline, "c was never seen lost");
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
      assert.equal(changes.filter((change) => change.endsWith("c lost")).length, 1, changes.join());
      const lost = (await a.hosts()).find((host) => host.name === "c")!;
      assert.ok(lost.lostAtMs !== undefined && lost.lostAtMs >= lost.heartbeatAtMs);
      // c comes back: alive again, with no lost time.
      c = await HostRegistry.open(connections[2], { identity: identity("c"), ttlMs: 1000 });
      const back = (await a.hosts()).find((host) => host.name === "c")!;
      assert.equal(back.state, "alive");
      assert.equal(back.lostAtMs, undefined);
      await Promise.all([a.close(), b.close(), c.close()]);
    } finally {
      await Promise.all(connections.map((connection) => connection.close()));
      await server.stop();
    }
  },
);

testIf("HostRegistry: a TTL below a second is refused", missing("nats-server"), async () => {
  const server = await startNatsServer();
  const connection = await connect({ servers: server.url });
  try {
    await assert.rejects(
      () => HostRegistry.open(connection, { identity: identity("x"), ttlMs: 10 }),
      /at least 1000 ms/,
    );
  } finally {
    await connection.close();
    await server.stop();
  }
});
