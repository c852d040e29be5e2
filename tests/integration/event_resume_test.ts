/**
 * A subscriber that disconnects while 10,000 events are produced, then resumes, receives every
 * event exactly once and in order — over a real unix socket, from a real SQLite log.
 *
 * `EVIRT_RESUME_EVENTS` changes the number of events (default 10,000).
 *
 * @module
 */

import assert from "node:assert/strict";
import { parsePositiveInteger } from "../../src/config/config.ts";
import { startSocketService } from "../support/socket_service.ts";

const EVENTS_DEFAULT = 10_000;
const DOMAINS = 32;

Deno.test("event stream: a subscriber that disconnects and resumes gets every event once, in order", async () => {
  const total = parsePositiveInteger(Deno.env.toObject(), "EVIRT_RESUME_EVENTS", EVENTS_DEFAULT);
  const service = await startSocketService({ log: "sqlite" });
  const { core, store } = service;
  try {
    const { client: writer, readOnly: reader } = service;
    for (let index = 0; index < DOMAINS; index++) {
      await writer.define({
        xml: `<domain type='test'><name>d${index}</name><memory>65536</memory><vcpu>1</vcpu>` +
          `<os><type>hvm</type></os><devices/></domain>`,
      });
      await writer.action(`d${index}`, "start");
    }
    const startPosition = store.headPosition();
    // Producers: suspend/resume cycles on every domain until `total` more facts exist.
    let produced = 0;
    const produce = async (name: string) => {
      while (produced < total) {
        produced += 2;
        await core.host.suspend(name);
        await core.host.resume(name);
      }
    };
    const producing = Promise.all(
      Array.from({ length: DOMAINS }, (_, index) => produce(`d${index}`)),
    );
    // First connection: read a while, then drop the connection mid-stream.
    const received: number[] = [];
    const first = new AbortController();
    for await (const event of reader.events({ since: startPosition, signal: first.signal })) {
      received.push(event.position);
      if (received.length === 1500) first.abort();
    }
    const disconnectedAt = received.at(-1)!;
    await producing;
    const head = store.headPosition();
    // Resume after the last position seen; read up to the head.
    const second = new AbortController();
    for await (const event of reader.events({ since: disconnectedAt, signal: second.signal })) {
      received.push(event.position);
      if (event.position === head) second.abort();
    }
    assert.ok(head - startPosition >= total, `${head - startPosition} events produced`);
    const expected = Array.from(
      { length: head - startPosition },
      (_, index) => startPosition + index + 1,
    );
    assert.equal(received.length, expected.length);
    assert.deepEqual(received, expected);
    console.log(
      `resume test: ${received.length} events, disconnected after ${
        disconnectedAt - startPosition
      }`,
    );
  } finally {
    await service.stop();
  }
});
