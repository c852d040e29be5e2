import assert from "node:assert/strict";
import { TestDriver } from "../../../../drivers/test/test_driver.ts";
import { EvirtClient } from "../../../../src/client/client.ts";
import { createMemoryStore } from "../../../../src/log/memory_store.ts";
import { emptyDevices } from "../../../../src/model/domain.ts";
import { ErrorCode, isVirtError } from "../../../../src/model/errors.ts";
import { createServiceCore, type ServiceCore } from "../../../../src/service/service.ts";
import { testDefinition } from "../../../support/domains.ts";

async function withService(fn: (service: ServiceCore, client: EvirtClient) => Promise<void>) {
  const service = await createServiceCore({
    store: createMemoryStore(),
    checkAnswers: true,
    drivers: [new TestDriver()],
    xmlMaxBytes: 64 * 1024,
    nodeInfo: () => ({
      model: "x86_64",
      memoryKiB: 1,
      cpus: 4,
      mhz: 1,
      nodes: 1,
      sockets: 1,
      cores: 4,
      threads: 1,
    }),
    log: () => {},
  });
  try {
    const devices = emptyDevices();
    devices.disks.push({
      type: "file",
      source: { file: "/images/web disk.img", hosts: [] },
      target: { dev: "vda", bus: "virtio" },
    });
    devices.interfaces.push({ type: "ethernet", target: { dev: "tap4" } });
    await service.host.define(testDefinition("web", { devices }));
    await service.host.define(testDefinition("db"));
    await service.host.start("web");
    await fn(service, new EvirtClient((request) => service.api.handle(request, "read-only")));
  } finally {
    await service.close();
  }
}

Deno.test("stats routes answer block lists, block info, and device statistics to read-only callers", async () => {
  await withService(async (_service, client) => {
    assert.deepEqual((await client.blockList("web")).disks.map((disk) => disk.source), [
      "/images/web disk.img",
    ]);
    const info = await client.blockInfo("web", "/images/web disk.img");
    assert.equal(info.target, "vda");
    const blockStats = await client.blockStats("web", "vda");
    assert.equal(blockStats.stats[0][0], "rd_operations");
    assert.equal(blockStats.stale, false);
    await assert.rejects(
      () => client.blockStats("web"),
      (error) => isVirtError(error, ErrorCode.OPERATION_UNSUPPORTED),
      "the test hypervisor refuses summary statistics, as libvirt's test driver",
    );
    assert.equal((await client.interfaceStats("web", "tap4")).name, "tap4");
    const memoryTags = (await client.memoryStats("web")).stats.map(([tag]) => tag);
    assert.deepEqual(memoryTags.slice(-3), ["hugetlb_pgalloc", "hugetlb_pgfail", "rss"]);
    const vcpus = await client.vcpus("web");
    assert.equal(vcpus.vcpus[0].affinity.length, 4, "the affinity covers the host's CPUs");
  });
});

Deno.test("stats routes answer domain stats with groups, filters and named domains", async () => {
  await withService(async (service, client) => {
    const all = await client.domainStats({ groups: ["state"] });
    assert.deepEqual(all.map((record) => record.name), ["web", "db"]);
    const inactive = await client.domainStats({ groups: ["state"], filter: { inactive: true } });
    assert.deepEqual(inactive.map((record) => record.name), ["db"]);
    const named = await client.domainStats({ domains: ["db", "web"], groups: ["block"] });
    assert.equal(
      named[1].stats.find(({ key }) => key === "block.0.path")?.value,
      "/images/web disk.img",
    );
    const response = await service.api.handle(
      new Request("http://evirt/v1/domains/web/stats?groups=state,vcpu&nowait"),
      "read-only",
    );
    const record = await response.json();
    assert.equal(record.name, "web");
    assert.deepEqual(record.stats.slice(0, 3).map(({ key }: { key: string }) => key), [
      "state.state",
      "state.reason",
      "vcpu.current",
    ]);
  });
});

Deno.test("stats routes answer bad requests with libvirt's codes and fitting statuses", async () => {
  await withService(async (service, client) => {
    const status = async (path: string) => {
      const response = await service.api.handle(new Request(`http://evirt${path}`), "read-only");
      const body = await response.json();
      return [response.status, body.error?.code];
    };
    assert.deepEqual(await status("/v1/domains/web/blocks/vdz/info"), [400, ErrorCode.INVALID_ARG]);
    assert.deepEqual(await status("/v1/domains/db/memory/stats"), [
      409,
      ErrorCode.OPERATION_INVALID,
    ]);
    assert.deepEqual(await status("/v1/domains/nosuch/stats"), [404, ErrorCode.NO_DOMAIN]);
    assert.deepEqual(await status("/v1/stats?groups=bogus"), [400, ErrorCode.INVALID_ARG]);
    assert.deepEqual(
      await status("/v1/stats?groups=perf&enforce"),
      [400, ErrorCode.ARGUMENT_UNSUPPORTED],
    );
    assert.deepEqual(await status("/v1/stats?domain=web&running"), [400, ErrorCode.INVALID_ARG]);
    assert.deepEqual(await status("/v1/stats?nowait=maybe"), [400, ErrorCode.INVALID_ARG]);
    await assert.rejects(
      () => client.interfaceStats("web", "vnet0"),
      (error) => isVirtError(error, ErrorCode.INVALID_ARG),
    );
  });
});
