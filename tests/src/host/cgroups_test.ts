import assert from "node:assert/strict";
import {
  cgroupJoinFiles,
  type CgroupLimits,
  cgroupOfRecord,
  cgroupRecord,
  limitWrites,
  parseCgroupMounts,
  parseProcessCgroups,
  planCgroup,
} from "../../../src/host/cgroups.ts";
import { isVirtError } from "../../../src/model/errors.ts";

const HYBRID_MOUNTINFO = [
  "30 25 0:26 / /sys/fs/cgroup/cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpuacct",
  "31 25 0:27 / /sys/fs/cgroup/memory rw,relatime shared:10 - cgroup cgroup rw,memory",
  "32 25 0:28 / /sys/fs/cgroup/freezer rw,relatime shared:11 - cgroup cgroup rw,freezer",
  "33 25 0:29 / /sys/fs/cgroup/unified rw,relatime shared:12 - cgroup2 cgroup2 rw",
].join("\n");

const UUID = "00000000-0000-4000-a000-000000000001";

Deno.test("on v1 controllers a container's groups sit below the service's own, per hierarchy", () => {
  const paths = planCgroup(
    UUID,
    parseCgroupMounts(HYBRID_MOUNTINFO),
    parseProcessCgroups("4:memory:/svc/a\n2:cpuacct:/\n6:freezer:/\n0::/"),
    [],
  );
  assert.deepEqual(paths, {
    layout: "v1",
    cpuacct: `/sys/fs/cgroup/cpuacct/evirt-lxc-${UUID}`,
    memory: `/sys/fs/cgroup/memory/svc/a/evirt-lxc-${UUID}`,
    freezer: `/sys/fs/cgroup/freezer/evirt-lxc-${UUID}`,
  });
  assert.equal(cgroupJoinFiles(paths).length, 3);
  assert.deepEqual(cgroupOfRecord(cgroupRecord(paths)), paths);
});

Deno.test("on a pure v2 host the unified hierarchy is used", () => {
  const mounts = parseCgroupMounts("40 25 0:30 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw");
  const paths = planCgroup(UUID, mounts, parseProcessCgroups("0::/system.slice/evirt.service"), [
    "cpu",
    "memory",
    "pids",
  ]);
  assert.deepEqual(paths, {
    layout: "v2",
    unified: `/sys/fs/cgroup/system.slice/evirt.service/evirt-lxc-${UUID}`,
  });
  assert.deepEqual(cgroupJoinFiles(paths), [
    `${paths.layout === "v2" ? paths.unified : ""}/cgroup.procs`,
  ]);
});

Deno.test("a host with neither layout's controllers is refused with code 67", () => {
  assert.throws(
    () => planCgroup(UUID, { v1: {} }, {}, []),
    (error) => isVirtError(error, 67),
  );
});

const LIMITS: CgroupLimits = {
  memoryLimitKiB: 4096,
  softLimitKiB: 2048,
  swapHardLimitKiB: 8192,
  cpuShares: 512,
  cpuPeriodUs: 100000,
  cpuQuotaUs: 50000,
  blkioDevices: [{ device: "7:0", readBytesSec: 1024, writeIopsSec: 5 }],
};

Deno.test("v1 limits: memory, soft, memory+swap, cpu shares/period/quota, blkio throttles", () => {
  const paths = {
    layout: "v1" as const,
    cpuacct: "/sys/c/cpuacct/g",
    memory: "/sys/c/memory/g",
    freezer: "/sys/c/freezer/g",
    cpu: "/sys/c/cpu/g",
    blkio: "/sys/c/blkio/g",
  };
  assert.deepEqual(limitWrites(paths, LIMITS), [
    ["/sys/c/memory/g/memory.limit_in_bytes", "4194304"],
    ["/sys/c/memory/g/memory.soft_limit_in_bytes", "2097152"],
    ["/sys/c/memory/g/memory.memsw.limit_in_bytes", "8388608"],
    ["/sys/c/cpu/g/cpu.shares", "512"],
    ["/sys/c/cpu/g/cpu.cfs_period_us", "100000"],
    ["/sys/c/cpu/g/cpu.cfs_quota_us", "50000"],
    ["/sys/c/blkio/g/blkio.throttle.read_bps_device", "7:0 1024"],
    ["/sys/c/blkio/g/blkio.throttle.write_iops_device", "7:0 5"],
  ]);
  // Controllers the host does not mount: refused (67) rather than silently not applied.
  const { cpu: _cpu, blkio: _blkio, ...bare } = paths;
  assert.throws(() => limitWrites(bare, LIMITS), (error) => isVirtError(error, 67));
  // A weight without a file that takes it: libvirt's refusal (55).
  assert.throws(
    () => limitWrites(paths, { memoryLimitKiB: 0, blkioWeight: 300, blkioDevices: [] }),
    (error) =>
      isVirtError(error, 55) &&
      error.message === "blkio device weight is valid only for bfq or cfq scheduler",
  );
  assert.deepEqual(cgroupOfRecord(cgroupRecord(paths)), paths);
  assert.equal(cgroupJoinFiles(paths).length, 5);
});

Deno.test("v2 limits: memory.max/high/swap.max, cpu.weight and cpu.max, io.weight and io.max", () => {
  assert.deepEqual(
    limitWrites({ layout: "v2", unified: "/u/g" }, { ...LIMITS, blkioWeight: 300 }),
    [
      ["/u/g/memory.max", "4194304"],
      ["/u/g/memory.high", "2097152"],
      ["/u/g/memory.swap.max", "8388608"],
      ["/u/g/cpu.weight", "512"],
      ["/u/g/cpu.max", "50000 100000"],
      ["/u/g/io.weight", "default 300"],
      ["/u/g/io.max", "7:0 rbps=1024 wiops=5"],
    ],
  );
  assert.deepEqual(
    limitWrites({ layout: "v2", unified: "/u/g" }, {
      memoryLimitKiB: 0,
      cpuQuotaUs: -1,
      blkioDevices: [],
    }),
    [["/u/g/cpu.max", "max 100000"]],
  );
});
