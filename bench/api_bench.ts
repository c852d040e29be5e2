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

import { percentile, percentileSummary } from "./_figures.ts";
import { EvirtClient } from "../src/client/client.ts";
import { parsePositiveInteger } from "../src/config/config.ts";
import { type SocketService, startSocketService } from "../tests/support/socket_service.ts";

const GOAL_P99_MS = 50;
const PRODUCER_DOMAINS = 32;

/** A service on a SQLite log with {@linkcode PRODUCER_DOMAINS} running domains to produce events. */
async function rig(): Promise<SocketService> {
  const service = await startSocketService({ log: "sqlite" });
  for (let index = 0; index < PRODUCER_DOMAINS; index++) {
    const name = `d${index}`;
    await service.client.define({
      xml: `<domain type='test'><name>${name}</name><memory>65536</memory><vcpu>1</vcpu>` +
        `<os><type>hvm</type></os><devices/></domain>`,
    });
    await service.core.host.start(name);
  }
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
  const out = await Deno.makeTempFile({ prefix: "evirt-bench-fanout-" });
  try {
    const durableAt = new Map<number, number>();
    r.core.host.onApplied((_uuid, applied) => {
      const now = performance.timeOrigin + performance.now();
      for (const { position } of applied) durableAt.set(position, now);
    });
    const since = r.core.store.headPosition();
    const target = since + events;
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        SUBSCRIBERS_CHILD,
        r.socketPath,
        String(subscribers),
        String(since),
        String(target),
        out,
      ],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    for (let text = ""; !text.includes("ready");) {
      const { value, done } = await lines.read();
      if (done) throw new Error("subscribers exited before they were ready");
      text += value;
    }
    let produced = 0;
    await Promise.all(Array.from({ length: PRODUCER_DOMAINS }, async (_, index) => {
      while (produced < events) {
        produced += 2;
        await r.core.host.suspend(`d${index}`);
        await r.core.host.resume(`d${index}`);
      }
    }));
    const status = await child.status;
    if (!status.success) throw new Error("subscribers failed");
    const received = new Float64Array((await Deno.readFile(out)).buffer);
    const latencies: number[] = [];
    for (let index = 0; index < received.length; index++) {
      const position = since + 1 + (index % events);
      const at = durableAt.get(position);
      if (at !== undefined && received[index] > 0) latencies.push(received[index] - at);
    }
    return latencies;
  } finally {
    await Deno.remove(out);
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
