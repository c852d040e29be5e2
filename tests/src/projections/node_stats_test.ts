import assert from "node:assert/strict";
import { cpuStats, memoryStats } from "../../../src/projections/node_stats.ts";
import { isVirtError } from "../../../src/model/errors.ts";

const STAT = `cpu  100 20 30 400 5 6 7 0 0 0
cpu0 50 10 15 200 2 3 4 0 0 0
cpu1 50 10 15 200 3 3 3 0 0 0
intr 12345
`;

Deno.test("cpuStats sums as libvirt: kernel = system+irq+softirq, user = user+nice, in ns", () => {
  assert.deepEqual(cpuStats(STAT, -1), [
    { field: "kernel", value: (30 + 6 + 7) * 10_000_000 },
    { field: "user", value: 120 * 10_000_000 },
    { field: "idle", value: 400 * 10_000_000 },
    { field: "iowait", value: 5 * 10_000_000 },
  ]);
  assert.equal(cpuStats(STAT, 1)[1].value, 60 * 10_000_000);
});

Deno.test("cpuStats refuses a CPU the host lacks with libvirt's message", () => {
  for (const cpu of [2, -2]) {
    assert.throws(
      () => cpuStats(STAT, cpu),
      (error) =>
        isVirtError(error, 8) && error.message === "Invalid cpuNum in virHostCPUGetStatsLinux",
    );
  }
});

Deno.test("memoryStats reads total, free, buffers and cached in KiB", () => {
  const meminfo = "MemTotal: 1000 kB\nMemFree: 400 kB\nMemAvailable: 600 kB\n" +
    "Buffers: 50 kB\nCached: 200 kB\nSwapCached: 1 kB\n";
  assert.deepEqual(memoryStats(meminfo).map((stat) => stat.value), [1000, 400, 50, 200]);
  const node = "Node 0 MemTotal: 900 kB\nNode 0 MemFree: 300 kB\n";
  assert.deepEqual(memoryStats(node).slice(0, 2).map((stat) => stat.value), [900, 300]);
});
