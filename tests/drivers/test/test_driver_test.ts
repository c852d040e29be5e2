import assert from "node:assert/strict";
import type { DomainHandle } from "../../../actors/driver_protocol.ts";
import { blockInfoInactive, blockInfoRunning } from "../../../src/storage/block_info.ts";
import type { BlockCounters } from "../../../src/storage/block_figures.ts";
import { TestDriver } from "../../../drivers/test/test_driver.ts";
import { emptyDevices } from "../../../src/model/domain.ts";
import { ErrorCode, isVirtError } from "../../../src/model/errors.ts";
import { testDefinition } from "../../support/domains.ts";

function handleOf(): DomainHandle {
  const devices = emptyDevices();
  devices.disks.push({
    type: "file",
    source: { file: "/guest/a.img", hosts: [] },
    target: { dev: "vda", bus: "virtio" },
  });
  devices.interfaces.push({ type: "network", source: { network: "default" } });
  devices.memballoon = { model: "virtio" };
  const definition = testDefinition("t", { devices });
  return { uuid: definition.uuid!, name: "t", id: 1, definition, runtime: { driver: "test" } };
}

async function started(
  clock: { ms: number },
): Promise<{ driver: TestDriver; handle: DomainHandle }> {
  const driver = new TestDriver({ now: () => clock.ms });
  const handle = handleOf();
  await driver.launch(handle, new AbortController().signal);
  await driver.resume(handle, new AbortController().signal);
  return { driver, handle };
}

Deno.test("TestDriver figures derive from the wall clock, as libvirt's test driver's", async () => {
  const clock = { ms: 1_000_000 };
  const { driver, handle } = await started(clock);
  const first = driver.samples(handle)!;
  assert.equal(first.takenAtMs, clock.ms);
  assert.equal(first.stale, false);
  const clockUs = clock.ms * 1000;
  assert.deepEqual(first.vcpus!.map((vcpu) => [vcpu.hostCpu, vcpu.timeNs]), [
    [15, clockUs / 10],
    [15, clockUs / 10],
  ]);
  assert.deepEqual(first.interfaces![0], {
    index: 0,
    name: "vnet0",
    rxBytes: clockUs / 10,
    rxPackets: clockUs / 100,
    rxErrors: Math.floor(clockUs / 1e6),
    rxDrops: Math.floor(clockUs / 2e6),
    txBytes: clockUs / 20,
    txPackets: Math.floor(clockUs / 110),
    txErrors: Math.floor(clockUs / 3e6),
    txDrops: Math.floor(clockUs / 4e6),
  });
  assert.equal(driver.info(handle).cpuTimeNs, clock.ms * 1e6);
  assert.equal(first.rssKiB, 1_048_576);
  // They grow with the clock even while the guest is paused, as libvirt's do.
  await driver.pause(handle, new AbortController().signal);
  clock.ms += 5000;
  const paused = driver.samples(handle)!;
  assert.ok(paused.cpu!.timeNs > first.cpu!.timeNs);
  assert.ok(paused.interfaces![0].rxBytes > first.interfaces![0].rxBytes);
});

Deno.test("TestDriver describes every domain as libvirt's test driver, in any state", () => {
  const clock = { ms: 1_000_000 };
  const driver = new TestDriver({ now: () => clock.ms, asLibvirtTestDriver: true });
  const definition = handleOf().definition;
  assert.deepEqual(driver.describe(definition, true), {
    osType: "linux",
    cpuTimeNs: clock.ms * 1e6,
    security: { model: "testSecurity", doi: "", label: "libvirt-test (enforcing)" },
  });
  assert.equal(driver.describe(definition, false).security?.label, undefined);
});

Deno.test("TestDriver on the service's host names no figures of its own", () => {
  const driver = new TestDriver();
  assert.deepEqual(driver.describe(handleOf().definition, true), {});
});

Deno.test("TestDriver samples agree with each other", async () => {
  const clock = { ms: 1_000_000 };
  const { driver, handle } = await started(clock);
  clock.ms += 3000;
  const samples = driver.samples(handle)!;
  assert.equal(samples.cpu!.userNs + samples.cpu!.systemNs, samples.cpu!.timeNs);
  assert.equal(
    samples.vcpus!.reduce((sum, vcpu) => sum + vcpu.timeNs, 0),
    samples.cpu!.timeNs,
  );
  assert.equal(samples.balloonKiB, 524288);
  assert.equal(samples.interfaces![0].name, "vnet0");
});

Deno.test("TestDriver disks answer libvirt's test driver's block info while running", async () => {
  const clock = { ms: 1_000_000 };
  const { driver, handle } = await started(clock);
  const storage = driver.storageAccess();
  const libvirts = {
    capacityBytes: 1099506450432,
    allocationBytes: 1099511627776,
    physicalBytes: 1099511627776,
  };
  const fresh = await driver.blockQuery(handle);
  assert.deepEqual(await blockInfoRunning(fresh.disks[0], storage.readStorage), libvirts);
  clock.ms += 1000;
  const later = await driver.blockQuery(handle);
  assert.deepEqual(await blockInfoRunning(later.disks[0], storage.readStorage), libvirts);
  const counters = (later.disks[0] as { counters: BlockCounters }).counters;
  const clockUs = clock.ms * 1000;
  assert.deepEqual(counters, {
    readRequests: clockUs / 10,
    readBytes: clockUs / 20,
    writeRequests: Math.floor(clockUs / 30),
    writeBytes: clockUs / 40,
    errors: Math.floor(clockUs / 2e6),
  }, "libvirt's test driver's counters: the clock in µs over fixed factors");
  // Inactive, libvirt's test driver answers the same figures, whatever the format.
  assert.deepEqual(
    await blockInfoInactive({ path: "/guest/a.img", format: "qcow2" }, storage),
    libvirts,
  );
  assert.deepEqual(
    await blockInfoInactive({ path: "/guest/a.img", format: "raw" }, storage),
    libvirts,
  );
  await assert.rejects(() => blockInfoInactive({ path: "relative.img", format: "raw" }, storage));
});

Deno.test("TestDriver has no samples for an instance it does not run", async () => {
  const driver = new TestDriver();
  const handle = handleOf();
  assert.equal(driver.samples(handle), undefined);
  await assert.rejects(
    () => driver.blockQuery(handle),
    (error) => isVirtError(error, ErrorCode.OPERATION_INVALID),
  );
  await assert.rejects(
    () => driver.storageAccess().readStorage("relative.img"),
    (error) => isVirtError(error, ErrorCode.SYSTEM_ERROR),
  );
});
