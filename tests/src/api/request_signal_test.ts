import assert from "node:assert/strict";
import { createMemoryStore } from "../../../src/log/memory_store.ts";
import { createServiceCore } from "../../../src/service/service.ts";
import { TestDriver } from "../../../drivers/test/test_driver.ts";
import { EvirtClient } from "../../../src/client/client.ts";
import { DomainState } from "../../../src/model/lifecycle.ts";

const XML = `<domain type='test'><name>web</name><memory>65536</memory><vcpu>1</vcpu>` +
  `<os><type>hvm</type></os><devices/></domain>`;

Deno.test("API routes pass the request's signal: a queued command whose caller left never runs", async () => {
  const core = await createServiceCore({
    store: createMemoryStore(),
    drivers: [new TestDriver({ latencies: { launchMs: 200 } })],
    xmlMaxBytes: 64 * 1024,
    log: () => {},
  });
  try {
    const client = new EvirtClient((request) => core.api.handle(request, "read-write"));
    await client.define({ xml: XML });
    const starting = client.action("web", "start");
    await new Promise((resolve) => setTimeout(resolve, 20));
    const caller = new AbortController();
    const suspending = core.api.handle(
      new Request("http://evirt/v1/domains/web/actions/suspend", {
        method: "POST",
        signal: caller.signal,
      }),
      "read-write",
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    caller.abort();
    const answer = await suspending;
    const body = await answer.json();
    assert.equal(body.error.code, 78);
    assert.match(body.error.message, /suspend was cancelled/);
    await starting;
    await core.host.idle();
    assert.equal(core.host.lookup("web").state, DomainState.RUNNING);
  } finally {
    await core.close();
  }
});
