/**
 * A service whose connection pools are sized as if descriptors were plentiful, run by
 * `accept_exhaustion_test.ts` under a low descriptor limit so that accepting fails with "Too many
 * open files". Prints `ready` once it listens, logs to stderr, and stops on SIGTERM.
 */

import { TestDriver } from "../../drivers/test/test_driver.ts";
import { serveApi } from "../../src/api/server.ts";
import { createMemoryStore } from "../../src/log/memory_store.ts";
import { createServiceCore } from "../../src/service/service.ts";

const dir = Deno.args[0];
const core = await createServiceCore({
  store: createMemoryStore(),
  drivers: [new TestDriver()],
  xmlMaxBytes: 65536,
  log: (message) => console.error(message),
});
const server = await serveApi(core.api, {
  socketPath: `${dir}/evirt.sock`,
  readOnlySocketPath: `${dir}/evirt-ro.sock`,
  // Pretend descriptors are plentiful, so the pools do not hold the flood under the limit.
  descriptorsMax: 1_000_000,
  log: (message) => console.error(message),
});
console.log("ready");
const stopped = new Promise<void>((resolve) => Deno.addSignalListener("SIGTERM", resolve));
await stopped;
core.endStreams();
await server.shutdown();
await core.close();
