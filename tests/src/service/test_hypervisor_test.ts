import assert from "node:assert/strict";
import { openTestHypervisor } from "../../../src/service/test_hypervisor.ts";
import { TEST_NODE_INFO } from "../../../drivers/test/test_driver.ts";

Deno.test("openTestHypervisor starts libvirt's default domain 'test' as id 1", async () => {
  const core = await openTestHypervisor({ xmlMaxBytes: 65536, log: () => {} });
  try {
    const [domain, ...others] = core.host.list();
    assert.equal(others.length, 0);
    assert.equal(domain.name, "test");
    assert.equal(domain.id, 1);
    assert.equal(domain.uuid, "6695eb01-f6a4-8304-79aa-97f2502e193f");
    assert.equal(domain.persistent, true);
    const info = core.host.info("test");
    assert.equal(info.maxMemoryKiB, 8 * 1024 * 1024);
    assert.equal(info.memoryKiB, 2 * 1024 * 1024);
    assert.equal(info.vcpus, 2);
    const definition = core.host.context("test").definition!;
    assert.equal(definition.devices.disks[0].target?.dev, "vda");
    assert.equal(definition.devices.disks[0].source?.file, "/guest/diskimage1");
    assert.equal(definition.devices.interfaces?.[0].mac, "aa:bb:cc:dd:ee:ff");
    assert.equal(definition.devices.interfaces?.[0].source?.network, "default");
    assert.equal(definition.devices.memballoon?.model, "virtio");
  } finally {
    await core.close();
  }
});

Deno.test("openTestHypervisor reports the test host of 16 CPUs in 2 NUMA cells", async () => {
  const core = await openTestHypervisor({ xmlMaxBytes: 65536, log: () => {} });
  try {
    const response = await core.api.handle(new Request("http://evirt/v1/host"), "read-only");
    const host = await response.json();
    assert.deepEqual(host.node, TEST_NODE_INFO);
    assert.equal(host.node.cpus, 16);
  } finally {
    await core.close();
  }
});

Deno.test("openTestHypervisor gives every connection its own fresh host", async () => {
  const first = await openTestHypervisor({ xmlMaxBytes: 65536, log: () => {} });
  const second = await openTestHypervisor({ xmlMaxBytes: 65536, log: () => {} });
  try {
    await first.host.destroy("test");
    assert.equal(second.host.lookup("test").active, true);
  } finally {
    await first.close();
    await second.close();
  }
});
