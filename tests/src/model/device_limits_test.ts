import assert from "node:assert/strict";
import {
  checkCountLimits,
  checkDeviceCounts,
  DEVICE_COUNT_LIMITS,
  IOTHREADS_MAX,
  NUMA_CELLS_MAX,
} from "../../../src/model/device_limits.ts";
import { emptyDevices } from "../../../src/model/domain.ts";
import { VirtError } from "../../../src/model/errors.ts";

Deno.test("checkDeviceCounts accepts every kind at its limit", () => {
  const devices = emptyDevices() as unknown as Record<string, unknown[]>;
  for (const [list, limit] of Object.entries(DEVICE_COUNT_LIMITS)) {
    devices[list] = Array.from({ length: limit.countMax }, () => ({}));
  }
  checkDeviceCounts(devices as never);
});

Deno.test("checkDeviceCounts refuses one more than the limit with code 67 and the element", () => {
  for (const [list, limit] of Object.entries(DEVICE_COUNT_LIMITS)) {
    const devices = emptyDevices() as unknown as Record<string, unknown[]>;
    devices[list] = Array.from({ length: limit.countMax + 1 }, () => ({}));
    assert.throws(
      () => checkDeviceCounts(devices as never),
      (error: unknown) =>
        error instanceof VirtError && error.code === 67 &&
        error.where === `/domain/devices/${limit.element}[${limit.countMax + 1}]` &&
        error.message ===
          `too many ${limit.element} devices: ${limit.countMax + 1}, at most ${limit.countMax}`,
    );
  }
});

Deno.test("checkDeviceCounts covers every device list of the model", () => {
  const lists = Object.entries(emptyDevices()).filter(([, value]) => Array.isArray(value))
    .map(([key]) => key).sort();
  assert.deepStrictEqual(Object.keys(DEVICE_COUNT_LIMITS).sort(), lists);
});

Deno.test("checkCountLimits bounds I/O threads and NUMA cells with code 67", () => {
  const base = {
    type: "qemu",
    name: "vm",
    memoryKiB: 1024,
    vcpus: 1,
    os: { type: "hvm", boot: [] },
    devices: emptyDevices(),
  };
  checkCountLimits({ ...base, iothreads: IOTHREADS_MAX } as never);
  assert.throws(
    () => checkCountLimits({ ...base, iothreads: 100_000_000 } as never),
    (error: unknown) =>
      error instanceof VirtError && error.code === 67 && error.where === "/domain/iothreads",
  );
  const cells = (count: number) => Array.from({ length: count }, () => ({ memoryKiB: 1 }));
  checkCountLimits({ ...base, cpu: { numa: { cells: cells(NUMA_CELLS_MAX) } } } as never);
  assert.throws(
    () =>
      checkCountLimits({ ...base, cpu: { numa: { cells: cells(NUMA_CELLS_MAX + 1) } } } as never),
    (error: unknown) =>
      error instanceof VirtError && error.code === 67 &&
      error.where === `/domain/cpu/numa/cell[${NUMA_CELLS_MAX + 1}]`,
  );
});
