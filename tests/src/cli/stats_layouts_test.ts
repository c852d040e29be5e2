import assert from "node:assert/strict";
import {
  formatBlockInfo,
  formatBlockInfoTable,
  formatBlockList,
  formatBlockStats,
  formatCapacity,
  formatDomainStats,
  formatInterfaceStats,
  formatMemoryStats,
  formatVcpuInfo,
} from "../../../src/cli/stats_layouts.ts";

const DISKS = [
  { type: "file", device: "disk", target: "vda", source: "/var/lib/images/web.qcow2" },
  { type: "file", device: "cdrom", target: "hdc", source: null },
];

Deno.test("formatBlockList prints virsh's Target/Source table, '-' for no source", () => {
  assert.equal(
    formatBlockList(DISKS, false),
    " Target   Source\n" +
      "-------------------------------------\n" +
      " vda      /var/lib/images/web.qcow2\n" +
      " hdc      -\n",
  );
});

Deno.test("formatBlockList --details adds Type and Device; -q drops the header", () => {
  assert.equal(
    formatBlockList(DISKS, true),
    " Type   Device   Target   Source\n" +
      "-----------------------------------------------------\n" +
      " file   disk     vda      /var/lib/images/web.qcow2\n" +
      " file   cdrom    hdc      -\n",
  );
  assert.equal(formatBlockList(DISKS, false, true), " vda   /var/lib/images/web.qcow2\n hdc   -\n");
});

Deno.test("formatCapacity scales like vshPrettyCapacity with printf's rounding", () => {
  assert.equal(formatCapacity(0), "0.000 B");
  assert.equal(formatCapacity(1023), "1023.000 B");
  assert.equal(formatCapacity(1024), "1.000 KiB");
  assert.equal(formatCapacity(1088), "1.062 KiB", "an exact tie rounds to even");
  assert.equal(formatCapacity(1073741824), "1.000 GiB");
  assert.equal(formatCapacity(1099506819072), "1023.996 GiB");
  assert.equal(formatCapacity(2 ** 60), "1.000 EiB");
});

Deno.test("formatBlockInfo prints the three figures, scaled with --human", () => {
  const info = { capacityBytes: 1073741824, allocationBytes: 106954752, physicalBytes: 5251072 };
  assert.equal(
    formatBlockInfo(info, false),
    "Capacity:       1073741824\nAllocation:     106954752\nPhysical:       5251072\n",
  );
  assert.equal(
    formatBlockInfo(info, true),
    "Capacity:       1.000 GiB\nAllocation:     102.000 MiB\nPhysical:       5.008 MiB\n",
  );
  const zeros = { capacityBytes: 0, allocationBytes: 0, physicalBytes: 0 };
  assert.equal(
    formatBlockInfo(zeros, false),
    "Capacity:       -\nAllocation:     -\nPhysical:       -\n",
  );
});

Deno.test("formatBlockInfoTable prints one row per disk, '-' for a disk without a source", () => {
  const info = { capacityBytes: 1073741824, allocationBytes: 106954752, physicalBytes: 5251072 };
  assert.equal(
    formatBlockInfoTable([{ target: "vda", info }, { target: "hdc", info: undefined }], false),
    " Target   Capacity     Allocation   Physical\n" +
      "----------------------------------------------\n" +
      " vda      1073741824   106954752    5251072\n" +
      " hdc      -            -            -\n",
  );
});

Deno.test("formatBlockStats prints legacy names, the sum with an empty device, and --human", () => {
  const stats: [string, number][] = [
    ["rd_operations", 1],
    ["rd_bytes", 512],
    ["wr_operations", 2],
    ["wr_bytes", 1024],
    ["flush_operations", 3],
    ["rd_total_times", 4],
  ];
  const view = { device: "vda", stats, sampleAgeMs: 0, stale: false };
  assert.equal(
    formatBlockStats(view, false),
    "vda rd_req 1\nvda rd_bytes 512\nvda wr_req 2\nvda wr_bytes 1024\n" +
      "vda flush_operations 3\nvda rd_total_times 4\n",
  );
  assert.equal(formatBlockStats({ ...view, device: "" }, false).split("\n")[0], " rd_req 1");
  assert.equal(
    formatBlockStats(view, true).split("\n").slice(0, 3).join("\n"),
    "Device: vda\n number of read operations:      1\n number of bytes read:           512",
  );
});

Deno.test("formatInterfaceStats prints the eight counters under the name asked", () => {
  const view = {
    interface: "52:54:00:00:00:01",
    name: "tap1",
    rxBytes: 1,
    rxPackets: 2,
    rxErrors: 3,
    rxDrops: 4,
    txBytes: 5,
    txPackets: 6,
    txErrors: 7,
    txDrops: 8,
    sampleAgeMs: 0,
    stale: false,
  };
  assert.equal(
    formatInterfaceStats(view),
    [
      "rx_bytes 1",
      "rx_packets 2",
      "rx_errs 3",
      "rx_drop 4",
      "tx_bytes 5",
      "tx_packets 6",
      "tx_errs 7",
      "tx_drop 8",
    ].map((line) => `52:54:00:00:00:01 ${line}\n`).join(""),
  );
});

Deno.test("formatMemoryStats prints tag and value lines", () => {
  assert.equal(
    formatMemoryStats([["actual", 1048576], ["rss", 210000]]),
    "actual 1048576\nrss 210000\n",
  );
  assert.equal(formatMemoryStats([]), "");
});

Deno.test("formatVcpuInfo prints a block per vCPU separated by an empty line", () => {
  const vcpus = [
    {
      number: 0,
      state: 1,
      stateName: "running",
      cpuTimeNs: 2_250_000_000,
      cpu: 1,
      affinity: [true, true],
    },
    { number: 1, state: 1, stateName: "running", cpuTimeNs: 0, cpu: 0, affinity: [true, false] },
  ];
  assert.equal(
    formatVcpuInfo(vcpus, false),
    "VCPU:           0\nCPU:            1\nState:          running\nCPU time:       2.2s\n" +
      "CPU Affinity:   yy\n\n" +
      "VCPU:           1\nCPU:            0\nState:          running\nCPU Affinity:   y-\n",
  );
  assert.match(formatVcpuInfo(vcpus, true), /^CPU Affinity: {3}0-1 \(out of 2\)$/m);
});

Deno.test("formatVcpuInfo prints N/A for an inactive domain's vCPUs", () => {
  const vcpu = {
    number: 0,
    state: null,
    stateName: null,
    cpuTimeNs: null,
    cpu: null,
    affinity: [true],
  };
  assert.equal(
    formatVcpuInfo([vcpu], false),
    "VCPU:           0\nCPU:            N/A\nState:          N/A\nCPU time        N/A\nCPU Affinity:   y\n",
  );
});

Deno.test("formatDomainStats prints a block per domain separated by an empty line", () => {
  const record = (name: string) => ({
    uuid: name,
    name,
    sampleAgeMs: 0,
    stale: false,
    stats: [{ key: "state.state", value: 1 }, { key: "block.0.name", value: "vda" }],
  });
  assert.equal(
    formatDomainStats([record("a"), record("b")]),
    "Domain: 'a'\n  state.state=1\n  block.0.name=vda\n\nDomain: 'b'\n  state.state=1\n  block.0.name=vda\n",
  );
  assert.equal(formatDomainStats([{ ...record("c"), stats: [] }]), "Domain: 'c'\n");
});
