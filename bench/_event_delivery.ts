/**
 * Event delivery latency, shared by the API and RPC benches: subscribers run in a child process
 * (as real subscribers do) while producer domains in the service suspend and resume as fast as
 * it lets them; each delivery is timed from the moment its fact was durable.
 *
 * @module
 */

import type { SocketService } from "../tests/support/socket_service.ts";

/** Domains that produce the events, `d0`…`d31`. */
export const PRODUCER_DOMAINS = 32;

/** Defines and starts `count` test domains `d0`, `d1`, … to produce events. */
export async function startProducers(service: SocketService, count: number): Promise<void> {
  for (let index = 0; index < count; index++) {
    const name = `d${index}`;
    await service.client.define({
      xml: `<domain type='test'><name>${name}</name><memory>65536</memory><vcpu>1</vcpu>` +
        `<os><type>hvm</type></os><devices/></domain>`,
    });
    await service.core.host.start(name);
  }
}

/** What {@linkcode measureDeliveries} runs. */
export interface DeliveryRun {
  /**
   * The subscribers' script and its arguments, given the log's head before the first event; the
   * output file's path is appended.
   */
  childArgs: (since: number) => string[];
  /** Events to produce. */
  events: number;
  /** Domains producing at once, from `d0`. */
  producers: number;
  /** Names the subscribers in errors. */
  what: string;
}

/**
 * Delivery latencies (ms): the child prints "ready" once subscribed, then writes each receipt
 * time (ms since the epoch, float64) to the output file, the k-th one for the k-th fact.
 */
export async function measureDeliveries(
  service: SocketService,
  run: DeliveryRun,
): Promise<number[]> {
  const out = await Deno.makeTempFile({ prefix: "evirt-bench-deliveries-" });
  const durableAt = new Map<number, number>();
  const stop = service.core.host.onApplied((_uuid, applied) => {
    const now = performance.timeOrigin + performance.now();
    for (const { position } of applied) durableAt.set(position, now);
  });
  try {
    const since = service.core.store.headPosition();
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", ...run.childArgs(since), out],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    for (let text = ""; !text.includes("ready");) {
      const { value, done } = await lines.read();
      if (done) throw new Error(`${run.what} exited before they were ready`);
      text += value;
    }
    let produced = 0;
    await Promise.all(Array.from({ length: run.producers }, async (_, index) => {
      while (produced < run.events) {
        produced += 2;
        await service.core.host.suspend(`d${index}`);
        await service.core.host.resume(`d${index}`);
      }
    }));
    const status = await child.status;
    if (!status.success) throw new Error(`${run.what} failed`);
    const received = new Float64Array((await Deno.readFile(out)).buffer);
    const latencies: number[] = [];
    for (let index = 0; index < received.length; index++) {
      // Every fact produced is a suspend or resume, so the k-th message is the k-th fact.
      const at = durableAt.get(since + 1 + (index % run.events));
      if (at !== undefined && received[index] > 0) latencies.push(received[index] - at);
    }
    return latencies;
  } finally {
    stop();
    await Deno.remove(out);
  }
}
