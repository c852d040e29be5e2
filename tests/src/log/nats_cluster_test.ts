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

/** Writers appending at once. */
const WRITERS = 8;

/**
 * Longest a store request waits for an answer, retries included (the store's `timeoutMs`), in
 * ms. It must outlast the election of a new stream leader: JetStream's Raft elects in 4 to 9 s on
 * an idle machine, a loaded 2-core machine stretches that; a writer asks the stream's version
 * after a refusal, and that request must not give up first.
 */
const STORE_TIMEOUT_MS = 60_000;

/** How long the writers go on after the leader's loss at least, in ms (the loss lands mid-load). */
const LOAD_AFTER_KILL_MS = 8_000;

/**
 * Longest wait after the leader's loss until every writer has had an append acknowledged again,
 * in ms: beyond {@linkcode STORE_TIMEOUT_MS}, so an append sent at the loss has landed or been
 * refused by then.
 */
const RECOVERY_WAIT_MS = 90_000;

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
        timeoutMs: STORE_TIMEOUT_MS,
      });
      const acknowledged = new Set<number>();
      let failures = 0;
      let killed = false;
      let killedAt = 0;
      /** How long after the loss the first append was acknowledged, in ms. */
      let recoveredMs: number | undefined;
      let afterKill = 0;
      /** The writers with an append acknowledged after the leader's loss. */
      const recovered = new Set<number>();
      let writing = true;
      const writers = Array.from({ length: WRITERS }, async (_, writer) => {
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
            if (killed) {
              recoveredMs ??= Date.now() - killedAt;
              afterKill++;
              recovered.add(writer);
            }
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
        killedAt = Date.now();
        killed = true;
        // Writes go on until every writer has been acknowledged again (a new leader serves
        // them), for LOAD_AFTER_KILL_MS at least, for RECOVERY_WAIT_MS at most.
        while (
          Date.now() - killedAt < RECOVERY_WAIT_MS &&
          (Date.now() - killedAt < LOAD_AFTER_KILL_MS || recovered.size < WRITERS)
        ) {
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        writing = false;
        await Promise.all(writers);
      } finally {
        await store.close();
      }
      console.log(
        `${acknowledged.size} appends acknowledged (${afterKill} after the leader's loss, ` +
          `the first ${recoveredMs} ms after it, by ${recovered.size} of ${WRITERS} writers), ` +
          `${failures} refused`,
      );
      assert.ok(afterKill > 0, "no append was acknowledged after the leader's loss");
      // Read back by a fresh open: every acknowledged fact is there.
      const reopened = await openNatsStore({
        servers: cluster.urls,
        host: "cluster",
        replicas: 3,
        timeoutMs: STORE_TIMEOUT_MS,
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
