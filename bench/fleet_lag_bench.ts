/**
 * Fleet subscriber lag: from a fact's append on host A to its delivery to a reader of the fleet
 * stream on host B (A's log on JetStream → A's relay → `EVIRT_FLEET` → B's reader on a
 * connection of its own), beside the same run's single-host delivery (the same facts delivered
 * by A's own log to a local subscriber, what `GET /v1/events` reads). One writer appends
 * 10,000 facts, each awaiting its durable acknowledgement; both readers follow at once, so both
 * figures come from the same appends. Run as a script: `deno run -A bench/fleet_lag_bench.ts`
 * (`EVIRT_BENCH_FLEET_FACTS` changes the count). Needs `nats-server` (Debian).
 *
 * Both "hosts" run in this process (their own NATS connections): the figures include no network
 * beyond loopback, and the lag is measured on one clock.
 *
 * @module
 */

import { connect } from "@nats-io/transport-node";
import { parsePositiveInteger } from "../src/config/config.ts";
import { openNatsStore } from "../src/log/nats_store.ts";
import { ensureFleetStream, followFleet, relayToFleet } from "../src/log/fleet_stream.ts";
import { startNatsServer } from "../tests/support/nats_server.ts";
import { lifecycleFact } from "./_appends.ts";
import { percentileSummary } from "./_figures.ts";

const FACTS_DEFAULT = 10_000;

/** Longest wait for the last delivery once every append is done. */
const DRAIN_TIMEOUT_MS = 60_000;

/** Base of the `pid` field that numbers the facts (see `lifecycleFact`). */
const PID_BASE = 10_000;

async function main(): Promise<void> {
  const total = parsePositiveInteger(
    Deno.env.toObject(),
    "EVIRT_BENCH_FLEET_FACTS",
    FACTS_DEFAULT,
  );
  const server = await startNatsServer();
  const stop = new AbortController();
  try {
    const store = await openNatsStore({ servers: server.url, host: "a" });
    const relayConnection = await connect({ servers: server.url, name: "bench-a-relay" });
    const readerConnection = await connect({ servers: server.url, name: "bench-b-reader" });
    try {
      await ensureFleetStream(relayConnection);
      const relay = await relayToFleet(
        relayConnection,
        "a",
        store.streamName,
        "evirt.log.a.facts",
        (message) => console.error(message),
      );
      const appendedAt = new Float64Array(total);
      const fleetLag: number[] = [];
      const localLag: number[] = [];
      const indexOf = (body: { pid?: number }) => (body.pid ?? 0) - PID_BASE;
      const fleetDone = (async () => {
        for await (const item of followFleet(readerConnection, "now", stop.signal)) {
          const index = indexOf(JSON.parse(item.fact.bodyJson));
          fleetLag.push(performance.now() - appendedAt[index]);
          if (fleetLag.length >= total) return;
        }
      })();
      const localDone = (async () => {
        for await (
          const fact of store.subscribe({
            afterPosition: store.headPosition(),
            signal: stop.signal,
          })
        ) {
          localLag.push(performance.now() - appendedAt[indexOf(fact.body as { pid?: number })]);
          if (localLag.length >= total) return;
        }
      })();
      // The reader's consumer is in place before the first append.
      await new Promise((resolve) => setTimeout(resolve, 500));
      let version = 0;
      const started = performance.now();
      for (let index = 0; index < total; index++) {
        appendedAt[index] = performance.now();
        version = (await store.append("bench/lag", [lifecycleFact(index)], version)).streamVersion;
      }
      const appendMs = performance.now() - started;
      const timer = setTimeout(() => stop.abort(), DRAIN_TIMEOUT_MS);
      await Promise.all([fleetDone, localDone]);
      clearTimeout(timer);
      await relay.stop();
      console.log(
        `fleet lag, ${total.toLocaleString("en-US")} facts appended one at a time by one writer ` +
          `(${Math.round(total / (appendMs / 1000)).toLocaleString("en-US")} facts/s), same run:`,
      );
      console.log(`  single host (A's log → A's subscriber):   ${percentileSummary(localLag)}`);
      console.log(`  fleet (A's log → EVIRT_FLEET → B reader): ${percentileSummary(fleetLag)}`);
      if (fleetLag.length < total || localLag.length < total) {
        console.log(`  incomplete: fleet ${fleetLag.length}, local ${localLag.length} delivered`);
      }
    } finally {
      stop.abort();
      await store.close();
      await relayConnection.close();
      await readerConnection.close();
    }
  } finally {
    await server.stop();
  }
}

if (import.meta.main) await main();
