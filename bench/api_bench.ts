/**
 * API figures over a real unix socket, each beside its same-run baseline.
 *
 * As a script (`deno run -A bench/api_bench.ts`) it prints:
 * - round-trip latency of `GET /v1/domains/{ref}/state` and of a suspend+resume pair over the
 *   socket (p50/p99), beside the same calls made in process without HTTP;
 * - event fan-out: 100 SSE subscribers while 10,000 events are produced as fast as the service
 *   can, p50/p99/max delivery latency from the fact being durable to each subscriber reading it
 *   (goal p99 ≤ 50 ms), beside one subscriber under the same load.
 *
 * Sizes: `EVIRT_BENCH_SUBSCRIBERS`, `EVIRT_BENCH_EVENTS`, `EVIRT_BENCH_CALLS`.
 *
 * @module
 */

import { measureDeliveries, PRODUCER_DOMAINS, startProducers } from "./_event_delivery.ts";
import { percentile, percentileSummary } from "./_figures.ts";
import { EvirtClient } from "../src/client/client.ts";
import { parsePositiveInteger } from "../src/config/config.ts";
import { type SocketService, startSocketService } from "../tests/support/socket_service.ts";

const GOAL_P99_MS = 50;

/** A service on a SQLite log with {@linkcode PRODUCER_DOMAINS} running domains to produce events. */
async function rig(): Promise<SocketService> {
  const service = await startSocketService({ log: "sqlite" });
  await startProducers(service, PRODUCER_DOMAINS);
  return service;
}

async function timeCalls(calls: number, call: () => Promise<unknown>): Promise<number[]> {
  const samples: number[] = [];
  for (let index = 0; index < calls; index++) {
    const started = performance.now();
    await call();
    samples.push(performance.now() - started);
  }
  return samples;
}

const SUBSCRIBERS_CHILD = new URL("./_sse_subscribers.ts", import.meta.url).pathname;

/**
 * Delivery latencies (ms) of `events` events to `subscribers` SSE subscribers, which run in a
 * child process (as real subscribers do) while producers in the service append as fast as it can.
 */
async function fanOut(subscribers: number, events: number): Promise<number[]> {
  const r = await rig();
  try {
    return await measureDeliveries(r, {
      childArgs: (since) => [
        SUBSCRIBERS_CHILD,
        r.socketPath,
        String(subscribers),
        String(since),
        String(since + events),
      ],
      events,
      producers: PRODUCER_DOMAINS,
      what: "subscribers",
    });
  } finally {
    await r.stop();
  }
}

async function main(): Promise<void> {
  const env = Deno.env.toObject();
  const subscribers = parsePositiveInteger(env, "EVIRT_BENCH_SUBSCRIBERS", 100);
  const events = parsePositiveInteger(env, "EVIRT_BENCH_EVENTS", 10_000);
  const calls = parsePositiveInteger(env, "EVIRT_BENCH_CALLS", 2_000);

  const r = await rig();
  try {
    const inProcess = new EvirtClient((request) => r.core.api.handle(request, "read-write"));
    await timeCalls(100, () => r.client.state("d0"));
    console.log("API round trip");
    console.log(
      `  GET state, in process (baseline): ${
        percentileSummary(await timeCalls(calls, () => inProcess.state("d0")))
      }`,
    );
    console.log(
      `  GET state, unix socket:           ${
        percentileSummary(await timeCalls(calls, () => r.client.state("d0")))
      }`,
    );
    const pair = (client: EvirtClient) => async () => {
      await client.action("d1", "suspend");
      await client.action("d1", "resume");
    };
    console.log(
      `  suspend+resume, in process:       ${
        percentileSummary(await timeCalls(calls / 4, pair(inProcess)))
      }`,
    );
    console.log(
      `  suspend+resume, unix socket:      ${
        percentileSummary(await timeCalls(calls / 4, pair(r.client)))
      }`,
    );
  } finally {
    await r.stop();
  }

  console.log(
    `event fan-out, ${events.toLocaleString("en-US")} events produced as fast as possible`,
  );
  const one = await fanOut(1, events);
  console.log(`  1 subscriber (baseline):  ${percentileSummary(one)}  (${one.length} deliveries)`);
  const many = await fanOut(subscribers, events);
  const sorted = [...many].sort((a, b) => a - b);
  const p99 = percentile(sorted, 0.99);
  console.log(
    `  ${subscribers} subscribers:         ${
      percentileSummary(many)
    }  (${many.length} deliveries; goal p99 ≤ ${GOAL_P99_MS} ms: ${
      p99 <= GOAL_P99_MS ? "met" : "missed"
    })`,
  );
}

if (import.meta.main) {
  await main();
} else {
  Deno.bench({
    name: "fan-out, 1 subscriber, 1,000 events",
    group: "fan-out",
    baseline: true,
    n: 1,
    async fn() {
      await fanOut(1, 1000);
    },
  });
  Deno.bench({
    name: "fan-out, 20 subscribers, 1,000 events",
    group: "fan-out",
    n: 1,
    async fn() {
      await fanOut(20, 1000);
    },
  });
}
