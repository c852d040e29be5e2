import assert from "node:assert/strict";
import {
  cgroupJoinFiles,
  cgroupOfRecord,
  cgroupRecord,
  parseCgroupMounts,
  parseProcessCgroups,
  planCgroup,
} from "../../../drivers/lxc/container_cgroup.ts";
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
