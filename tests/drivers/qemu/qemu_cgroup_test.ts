import assert from "node:assert/strict";
import {
  checkQemuCgroup,
  groupLimitsOf,
  refuseUnappliedTuning,
  vcpuBandwidthOf,
} from "../../../drivers/qemu/qemu_cgroup.ts";
import type { CgroupPaths } from "../../../src/host/cgroups.ts";
import type { CpuTune } from "../../../src/model/domain.ts";
import { isVirtError } from "../../../src/model/errors.ts";
import { qemuDefinition } from "./_qemu_definitions.ts";

function cputune(tune: Partial<CpuTune>): CpuTune {
  return {
    vcpupins: [],
    iothreadpins: [],
    vcpuscheds: [],
    iothreadscheds: [],
    cachetunes: [],
    memorytunes: [],
    ...tune,
  };
}

const V1: CgroupPaths = {
  layout: "v1",
  cpuacct: "/sys/fs/cgroup/cpuacct/g",
  memory: "/sys/fs/cgroup/memory/g",
  freezer: "/sys/fs/cgroup/freezer/g",
  cpu: "/sys/fs/cgroup/cpu/g",
};
const V2: CgroupPaths = { layout: "v2", unified: "/sys/fs/cgroup/g" };

Deno.test("a definition without cgroup limits asks for no group; pinning alone needs none", () => {
  assert.equal(groupLimitsOf(qemuDefinition()), undefined);
  const pinned = qemuDefinition({
    cputune: cputune({ vcpupins: [{ vcpu: 0, cpuset: "0" }], emulatorpin: "0" }),
  });
  assert.equal(groupLimitsOf(pinned), undefined);
});

Deno.test("the group's limits: shares, memory limits and the I/O weight; bandwidth per vCPU", () => {
  const definition = qemuDefinition({
    cputune: cputune({ shares: 1500, period: 1_000_000, quota: 50_000 }),
    memtune: { hardLimitKiB: 1_048_576, softLimitKiB: 524_288 },
    blkiotune: { weight: 300, devices: [] },
  });
  assert.deepEqual(groupLimitsOf(definition), {
    memoryLimitKiB: 1_048_576,
    blkioDevices: [],
    cpuShares: 1500,
    softLimitKiB: 524_288,
    blkioWeight: 300,
  });
  assert.deepEqual(vcpuBandwidthOf(definition), { periodUs: 1_000_000, quotaUs: 50_000 });
  // libvirt leaves a zero period or quota unset.
  assert.equal(vcpuBandwidthOf(qemuDefinition({ cputune: cputune({ period: 0 }) })), undefined);
  assert.ok(groupLimitsOf(qemuDefinition({ cputune: cputune({ quota: -1 }) })) !== undefined);
});

Deno.test("shares outside the kernel's range are refused as libvirt refuses them (code 8)", () => {
  const shares = (value: number) => qemuDefinition({ cputune: cputune({ shares: value }) });
  const refused = (paths: CgroupPaths, value: number, text: string) =>
    assert.throws(
      () => checkQemuCgroup(paths, shares(value)),
      (error) => isVirtError(error) && error.code === 8 && error.message === text,
    );
  refused(V1, 0, "shares '0' must be in range [2, 262144]");
  refused(V1, 262_145, "shares '262145' must be in range [2, 262144]");
  refused(V2, 0, "shares '0' must be in range [1, 10000]");
  refused(V2, 10_001, "shares '10001' must be in range [1, 10000]");
  checkQemuCgroup(V1, shares(2));
  checkQemuCgroup(V2, shares(1));
  // Per-vCPU bandwidth needs v1 here (v2's threaded groups are not made).
  assert.throws(
    () => checkQemuCgroup(V2, qemuDefinition({ cputune: cputune({ quota: 50_000 }) })),
    (error) => isVirtError(error) && error.code === 67 && error.where === "/domain/cputune/period",
  );
});

Deno.test("tuning the driver does not apply is refused by element", () => {
  const where = (overrides: Parameters<typeof qemuDefinition>[0]) => {
    try {
      refuseUnappliedTuning(qemuDefinition(overrides));
      return "accepted";
    } catch (error) {
      assert.ok(isVirtError(error) && error.code === 67);
      return error.where;
    }
  };
  assert.equal(where({ cputune: cputune({ shares: 10, emulatorpin: "0" }) }), "accepted");
  assert.equal(
    where({ cputune: cputune({ iothreadpins: [{ iothread: 1, cpuset: "0" }] }) }),
    "/domain/cputune/iothreadpin",
  );
  assert.equal(
    where({ cputune: cputune({ emulatorsched: { scheduler: "fifo", priority: 1 } }) }),
    "/domain/cputune/emulatorsched",
  );
  assert.equal(where({ memtune: { minGuaranteeKiB: 1024 } }), "/domain/memtune/min_guarantee");
  assert.equal(
    where({ blkiotune: { devices: [{ path: "/dev/sda", weight: 500 }] } }),
    "/domain/blkiotune/device",
  );
});
