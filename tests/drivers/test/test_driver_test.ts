import assert from "node:assert/strict";
import type { DomainHandle } from "../../../actors/driver_protocol.ts";
import { blockInfoInactive, blockInfoRunning } from "../../../src/storage/block_info.ts";
import { TEST_DISK_BYTES, TestDriver } from "../../../drivers/test/test_driver.ts";
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

Deno.test("TestDriver samples grow while the guest runs and freeze while it is paused", async () => {
  const clock = { ms: 1_000_000 };
  const { driver, handle } = await started(clock);
  clock.ms += 2000;
  const first = driver.samples(handle)!;
  assert.equal(first.takenAtMs, clock.ms);
  assert.equal(first.stale, false);
  assert.ok(first.cpu!.timeNs > 0);
  await driver.pause(handle, new AbortController().signal);
  clock.ms += 5000;
  const paused = driver.samples(handle)!;
  assert.deepEqual(paused.cpu, first.cpu);
  assert.deepEqual(paused.interfaces, first.interfaces);
  await driver.resume(handle, new AbortController().signal);
  clock.ms += 1000;
  const later = driver.samples(handle)!;
  assert.ok(later.cpu!.timeNs > first.cpu!.timeNs);
  assert.ok(later.interfaces![0].rxBytes > first.interfaces![0].rxBytes);
});

Deno.test("TestDriver samples agree with each other and with info", async () => {
  const clock = { ms: 1_000_000 };
  const { driver, handle } = await started(clock);
  clock.ms += 3000;
  const samples = driver.samples(handle)!;
  assert.equal(samples.cpu!.timeNs, driver.info(handle).cpuTimeNs);
  assert.equal(samples.cpu!.userNs + samples.cpu!.systemNs, samples.cpu!.timeNs);
  assert.equal(
    samples.vcpus!.reduce((sum, vcpu) => sum + vcpu.timeNs, 0),
    samples.cpu!.timeNs,
  );
  assert.equal(samples.balloonKiB, 524288);
  assert.equal(samples.interfaces![0].name, "vnet0");
});

Deno.test("TestDriver disks follow the block info rules of a fully allocated raw file", async () => {
  const clock = { ms: 1_000_000 };
  const { driver, handle } = await started(clock);
  const storage = driver.storageAccess();
  const fresh = await driver.blockQuery(handle);
  const before = await blockInfoRunning(fresh.disks[0], storage.readStorage);
  assert.deepEqual(before, {
    capacityBytes: TEST_DISK_BYTES,
    allocationBytes: TEST_DISK_BYTES,
    physicalBytes: TEST_DISK_BYTES,
  });
  clock.ms += 1000;
  const written = await driver.blockQuery(handle);
  const after = await blockInfoRunning(written.disks[0], storage.readStorage);
  assert.equal(after.allocationBytes, 50 * 4096, "4 KiB written every 20 ms");
  assert.equal(after.physicalBytes, TEST_DISK_BYTES);
  assert.deepEqual(
    await blockInfoInactive({ path: "/guest/a.img", format: "qcow2" }, storage),
    before,
  );
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
