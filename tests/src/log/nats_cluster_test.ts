/**
 * The JetStream log on a 3-node cluster of loopback servers with 3 replicas: one node SIGKILLed
 * while writers append loses no acknowledged fact, and appends go on.
 *
 * @module
 */

import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { openNatsStore } from "../../../src/log/nats_store.ts";
import { missing, testIf } from "../../support/environment.ts";
import { jetStreamReady, startNatsCluster } from "../../support/nats_server.ts";
import { noted } from "./event_store_contract.ts";

/** The name (`n1`…) of the node leading `stream`. */
async function streamLeader(servers: string, stream: string): Promise<string> {
  const connection = await connect({ servers: servers.split(",") });
  try {
    const info = await (await jetstreamManager(connection)).streams.info(stream);
    const leader = info.cluster?.leader;
    if (leader === undefined) throw new Error(`stream ${stream} has no leader`);
    return leader;
  } finally {
    await connection.close();
  }
}

testIf(
  "NatsStore on an R3 cluster: a node SIGKILLed mid-load loses no acknowledged fact, appends go on",
  missing("nats-server"),
  async () => {
    const cluster = await startNatsCluster(3);
    try {
      await jetStreamReady(cluster.urls);
      const store = await openNatsStore({
        servers: cluster.urls,
        host: "cluster",
        replicas: 3,
        timeoutMs: 20_000,
      });
      const acknowledged = new Set<number>();
      let failures = 0;
      let killed = false;
      let afterKill = 0;
      let writing = true;
      const writers = Array.from({ length: 8 }, async (_, writer) => {
        let version = 0;
        for (let index = 0; writing; index++) {
          try {
            const result = await store.append(
              `w${writer}`,
              [noted(writer * 100_000 + index)],
              version,
            );
            version = result.streamVersion;
            acknowledged.add(writer * 100_000 + index);
            if (killed) afterKill++;
          } catch (error) {
            if (failures++ === 0) console.log(`first refusal: ${(error as Error).message}`);
            version = await store.streamVersion(`w${writer}`);
          }
        }
      });
      try {
        await new Promise((resolve) => setTimeout(resolve, 500));
        // The hardest node to lose: the stream's leader, which every write goes through.
        const leader = await streamLeader(cluster.urls, store.streamName);
        await cluster.nodes[Number(leader.slice(1)) - 1].stop(true);
        killed = true;
        await new Promise((resolve) => setTimeout(resolve, 8000));
        writing = false;
        await Promise.all(writers);
      } finally {
        await store.close();
      }
      console.log(
        `${acknowledged.size} appends acknowledged (${afterKill} after the leader's loss), ` +
          `${failures} refused`,
      );
      assert.ok(afterKill > 0, "no append was acknowledged after the leader's loss");
      // Read back by a fresh open: every acknowledged fact is there.
      const reopened = await openNatsStore({
        servers: cluster.urls,
        host: "cluster",
        replicas: 3,
        timeoutMs: 20_000,
      });
      try {
        const found = new Set<number>();
        let after = 0;
        while (after < reopened.headPosition()) {
          const page = await reopened.readAll({ afterPosition: after });
          for (const fact of page) found.add((fact.body as { n: number }).n);
          after = page[page.length - 1].position;
        }
        const lost = [...acknowledged].filter((n) => !found.has(n));
        assert.deepEqual(lost, []);
      } finally {
        await reopened.close();
      }
    } finally {
      await cluster.stop();
    }
  },
);
