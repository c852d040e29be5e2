/**
 * Durable append throughput of any {@linkcode EventStore}: the measurement `log_bench.ts` and
 * `nats_log_bench.ts` share.
 *
 * @module
 */

import type { EventStore, NewFact } from "../src/log/event_store.ts";

/** A body the size of a typical lifecycle fact (~150 bytes of JSON). */
export function lifecycleFact(index: number): NewFact {
  return {
    type: "DomainStarted",
    body: {
      uuid: "c7a5fdbd-cdaf-9455-926a-d65c16db1809",
      reason: "booted",
      pid: 10_000 + index,
      monitor: "/run/evirt/qemu/web.qmp",
    },
  };
}

export interface AppendFigures {
  factsPerSecond: number;
  stallMsMax: number;
}

/**
 * Appends `total` facts, one per append, from `writers` concurrent writers each on its own stream
 * and each awaiting its previous append before the next.
 */
export async function measureAppends(
  store: EventStore,
  writers: number,
  total: number,
): Promise<AppendFigures> {
  const perWriter = Math.ceil(total / writers);
  let stallMsMax = 0;
  let lastTickMs = performance.now();
  // A 1 ms ticker shows how long commits keep the event loop from running anything else.
  const ticker = setInterval(() => {
    const now = performance.now();
    stallMsMax = Math.max(stallMsMax, now - lastTickMs);
    lastTickMs = now;
  }, 1);
  const started = performance.now();
  await Promise.all(Array.from({ length: writers }, async (_, writer) => {
    const stream = `bench/${writer}`;
    let version = await store.streamVersion(stream);
    for (let index = 0; index < perWriter; index++) {
      version = (await store.append(stream, [lifecycleFact(index)], version)).streamVersion;
    }
  }));
  const elapsedMs = performance.now() - started;
  clearInterval(ticker);
  return { factsPerSecond: (perWriter * writers) / (elapsedMs / 1000), stallMsMax };
}
