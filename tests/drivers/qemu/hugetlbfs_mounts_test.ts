import assert from "node:assert/strict";
import { defaultPageSizeKiB, hugetlbfsMountsOf } from "../../../drivers/qemu/hugetlbfs_mounts.ts";

const MEMINFO = "MemTotal:       24684000 kB\nHugepagesize:       2048 kB\n";

Deno.test("hugetlbfsMountsOf lists hugetlbfs mounts by page size, the default size first", () => {
  const mounts = hugetlbfsMountsOf(
    [
      "proc /proc proc rw 0 0",
      "hugetlbfs /dev/hugepages1G hugetlbfs rw,relatime,pagesize=1024M 0 0",
      "hugetlbfs /dev/huge\\040pages hugetlbfs rw,relatime 0 0",
      "hugetlbfs /mnt/second2M hugetlbfs rw,pagesize=2M 0 0",
    ].join("\n"),
    MEMINFO,
  );
  assert.deepEqual(mounts, [
    { path: "/dev/huge pages", pageSizeKiB: 2048 },
    { path: "/dev/hugepages1G", pageSizeKiB: 1048576 },
  ]);
});

Deno.test("hugetlbfsMountsOf finds none without hugetlbfs, and the default size from meminfo", () => {
  assert.deepEqual(hugetlbfsMountsOf("tmpfs /tmp tmpfs rw 0 0\n", MEMINFO), []);
  assert.equal(defaultPageSizeKiB(MEMINFO), 2048);
  assert.equal(defaultPageSizeKiB("MemTotal: 1 kB\n"), undefined);
});
