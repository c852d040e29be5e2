import assert from "node:assert/strict";
import { Host } from "../../../actors/host.ts";
import { TestDriver } from "../../../drivers/test/test_driver.ts";
import { renderStatsMetrics } from "../../../src/api/stats_metrics.ts";
import { createMemoryStore } from "../../../src/log/memory_store.ts";
import { emptyDevices } from "../../../src/model/domain.ts";
import { StatsReader } from "../../../src/projections/stats_reader.ts";
import { testDefinition } from "../../support/domains.ts";

Deno.test("renderStatsMetrics exposes the running domains' figures with bounded labels", async () => {
  const clock = { ms: 1_000_000 };
  const host = await Host.open({
    store: createMemoryStore(),
    drivers: [new TestDriver({ now: () => clock.ms })],
    now: () => clock.ms,
    log: () => {},
  });
  try {
    const devices = emptyDevices();
    devices.disks.push({
      type: "file",
      source: { file: "/images/a.img", hosts: [] },
      target: { dev: "vda", bus: "virtio" },
    });
    devices.interfaces.push({ type: "ethernet", target: { dev: "tap4" } });
    await host.define(testDefinition("web", { devices, vcpus: 1 }));
    await host.define(testDefinition("db"));
    await host.start("web");
    clock.ms += 2000;
    const text = await renderStatsMetrics(new StatsReader(host, { now: () => clock.ms }));
    const sample = (name: string) => new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1];
    // The test hypervisor's figures are libvirt's test driver's: from the wall clock (here
    // 1 002 000 ms), a fully written 1 TiB disk holding 1099506450432 bytes for the guest.
    assert.equal(sample('evirt_domain_cpu_seconds_total\\{domain="web"\\}'), "0.1002");
    assert.equal(sample('evirt_domain_vcpu_seconds_total\\{domain="web",vcpu="0"\\}'), "0.1002");
    assert.equal(
      sample('evirt_domain_block_allocation_bytes\\{domain="web",disk="vda"\\}'),
      "1099511627776",
    );
    assert.equal(
      sample('evirt_domain_block_capacity_bytes\\{domain="web",disk="vda"\\}'),
      "1099506450432",
    );
    assert.equal(
      sample('evirt_domain_interface_receive_bytes_total\\{domain="web",interface="tap4"\\}'),
      "100200000",
    );
    assert.equal(
      sample('evirt_domain_balloon_current_bytes\\{domain="web"\\}'),
      String(1048576 * 1024),
      "no balloon: the total memory",
    );
    assert.equal(sample('evirt_domain_samples_stale\\{domain="web"\\}'), "0");
    assert.match(text, /^# TYPE evirt_domain_block_read_requests_total counter$/m);
    assert.doesNotMatch(text, /domain="db"/, "inactive domains are left out: no storage reads");
  } finally {
    await host.close();
  }
});
