/**
 * An in-process service core on the test hypervisor and an in-memory log, for API tests that
 * call routes directly (`core.api.handle(request, role)`), closed after the test body.
 *
 * @module
 */

import { createMemoryStore } from "../../src/log/memory_store.ts";
import { createServiceCore, type ServiceCore } from "../../src/service/service.ts";
import { TestDriver } from "../../drivers/test/test_driver.ts";

/** Runs `fn` with a fresh core and closes it, whatever `fn` does. */
export async function withTestCore<T>(fn: (core: ServiceCore) => Promise<T>): Promise<T> {
  const core = await createServiceCore({
    store: createMemoryStore(),
    drivers: [new TestDriver()],
    xmlMaxBytes: 64 * 1024,
    // Every JSON answer is checked against the schema the OpenAPI document names for it.
    checkAnswers: true,
    events: { heartbeatMs: 60_000 },
    nodeInfo: () => ({
      model: "x86_64",
      memoryKiB: 1,
      cpus: 1,
      mhz: 1,
      nodes: 1,
      sockets: 1,
      cores: 1,
      threads: 1,
    }),
    hostname: () => "node1",
    log: () => {},
  });
  try {
    return await fn(core);
  } finally {
    await core.close();
  }
}
