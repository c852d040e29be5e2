/**
 * Block info and domain stats end to end, on real images and the real test guest: the CLI verbs
 * (`domblkinfo`, `domstats`, `domblkstat`, …) through the API of a service core running the QEMU
 * driver. Images are made by `qemu-img` / `qemu-io`; the guest writes at known offsets through
 * `evirt.write=` (reference §4's vda 2 MiB at 100 MiB, vdb 1 MiB at 8 MiB, vdc 1 MiB at 700 MiB);
 * the figures are checked against `stat` and `qemu-img info`. A SIGSTOPped QEMU turns its samples
 * stale while `domstats` keeps answering. Every QEMU started is killed by pid in `finally`.
 */

import assert from "node:assert/strict";
import { QemuDriver } from "../../drivers/qemu/qemu_driver.ts";
import { runCli } from "../../src/cli/main.ts";
import { inProcessTransport } from "../../src/cli/connection.ts";
import type { CliIo } from "../../src/cli/verb.ts";
import { EvirtClient } from "../../src/client/client.ts";
import { createMemoryStore } from "../../src/log/memory_store.ts";
import type { Disk, DomainDefinition } from "../../src/model/domain.ts";
import { ErrorCode, isVirtError } from "../../src/model/errors.ts";
import type { DomainStatsRecord } from "../../src/projections/stats_reader.ts";
import { createServiceCore, type ServiceCore } from "../../src/service/service.ts";
import {
  loopDeviceSkipReason,
  qemuImgInfo,
  qemuIoWrite,
  run,
  withLoopDevice,
} from "../src/storage/_block_images.ts";
import { missing, testIf } from "../support/environment.ts";
import {
  GUEST_BOOT_TIMEOUT_MS,
  guestKernelCmdline,
  guestSkipReason,
  type GuestWrite,
  guestWriteDoneMarker,
  readSerialLog,
  waitForSerialMarker,
} from "../support/guest.ts";
import { guestDefinition, killAll } from "./_qemu_guest.ts";
import { searchableTempDirSync } from "../support/temp_dir.ts";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** The sampling interval of the driver under test, in ms: short, so tests wait little. */
const STATS_INTERVAL_MS = 100;
/** Bound on waiting for samples to show something, in ms. */
const SAMPLE_WAIT_MS = 10_000;
/** Bound on the guest's writes after boot, in ms. */
const WRITE_TIMEOUT_MS = 15_000;

const skip = guestSkipReason() ?? missing("qemu-system-x86_64", "qemu-img", "qemu-io");

/** A service core on the QEMU driver in temporary folders; `close()` kills what it started. */
interface Rig {
  dir: string;
  core: ServiceCore;
  client: EvirtClient;
  cli(...words: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  pid(name: string): number;
  close(): Promise<void>;
}

async function openRig(): Promise<Rig> {
  const dir = searchableTempDirSync("evirt-stats-it-");
  const driver = await QemuDriver.create({
    runtimeDir: `${dir}/run`,
    logDir: `${dir}/log`,
    statsIntervalMs: STATS_INTERVAL_MS,
    log: () => {},
  });
  const core = await createServiceCore({
    store: createMemoryStore(),
    checkAnswers: true,
    drivers: [driver],
    xmlMaxBytes: 1024 * 1024,
    log: () => {},
  });
  const started = new Set<{ pid: number; startTimeTicks: number }>();
  core.host.onApplied((_uuid, applied) => {
    for (const { fact } of applied) {
      if (fact.type !== "domain.launched") continue;
      const { pid, startTimeTicks } = fact.body.runtime;
      if (typeof pid === "number" && typeof startTimeTicks === "number") {
        started.add({ pid, startTimeTicks });
      }
    }
  });
  const client = new EvirtClient(inProcessTransport(core.api, "read-write"));
  return {
    dir,
    core,
    client,
    async cli(...words) {
      let stdout = "";
      let stderr = "";
      const io: CliIo = {
        stdout: (text) => stdout += text,
        stderr: (text) => stderr += text,
        stderrIsTerminal: false,
        env: { EVIRT_DEFAULT_URI: "evirt:///system" },
        uid: 0,
        onInterrupt: () => () => {},
        connect: (options) =>
          Promise.resolve({ uri: options.uri, client, close: () => Promise.resolve() }),
      };
      const code = await runCli(words, io);
      return { code, stdout, stderr };
    },
    pid(name) {
      const pid = core.host.context(name).runtime?.pid;
      if (typeof pid !== "number") throw new Error(`${name} has no recorded pid`);
      return pid;
    },
    async close() {
      try {
        await core.close();
      } finally {
        await killAll(started);
        await Deno.remove(dir, { recursive: true });
      }
    },
  };
}

function fileDisk(target: string, path: string, format: string): Disk {
  return {
    type: "file",
    device: "disk",
    driver: { name: "qemu", type: format },
    source: { file: path, hosts: [] },
    target: { dev: target, bus: "virtio" },
  };
}

function blockDisk(target: string, path: string, format: string): Disk {
  return {
    type: "block",
    device: "disk",
    driver: { name: "qemu", type: format },
    source: { dev: path, hosts: [] },
    target: { dev: target, bus: "virtio" },
  };
}

function guestWithDisks(
  name: string,
  serial: string,
  disks: Disk[],
  writes: GuestWrite[],
): DomainDefinition {
  const definition = guestDefinition(name, { serial: { file: serial } });
  definition.devices.disks.push(...disks);
  definition.os.cmdline = guestKernelCmdline(writes);
  return definition;
}

async function fileFigures(path: string): Promise<{ sizeBytes: number; allocatedBytes: number }> {
  const stat = await Deno.stat(path);
  return { sizeBytes: stat.size, allocatedBytes: stat.blocks! * 512 };
}

/** `domblkinfo`'s three lines for the figures. */
function blkinfoText(capacity: number, allocation: number, physical: number): string {
  return `Capacity:       ${capacity}\nAllocation:     ${allocation}\nPhysical:       ${physical}\n\n`;
}

/** The record's keys as a map (values as printed). */
function statsMap(record: DomainStatsRecord): Map<string, number | string> {
  return new Map(record.stats.map(({ key, value }) => [key, value]));
}

/** `domstats` output parsed back: `key=value` lines of the one domain. */
function parseDomstats(stdout: string): Map<string, string> {
  const lines = stdout.split("\n").filter((line) => line.startsWith("  "));
  return new Map(lines.map((line) => {
    const [key, value] = line.trim().split("=");
    return [key, value];
  }));
}

async function waitForRecord(
  client: EvirtClient,
  name: string,
  what: string,
  ready: (record: DomainStatsRecord) => boolean,
): Promise<DomainStatsRecord> {
  const deadline = Date.now() + SAMPLE_WAIT_MS;
  let record: DomainStatsRecord | undefined;
  while (Date.now() < deadline) {
    [record] = await client.domainStats({ domains: [name] });
    if (ready(record)) return record;
    await new Promise((resolve) => setTimeout(resolve, STATS_INTERVAL_MS / 2));
  }
  throw new Error(`Timed out waiting for ${what}; last record ${JSON.stringify(record)}`);
}

testIf(
  "block info and domstats follow reference §4 and §5 on real images and a guest writing at known offsets",
  skip,
  async () => {
    const rig = await openRig();
    try {
      const vda = `${rig.dir}/vda.raw`;
      const vdb = `${rig.dir}/vdb.raw`;
      const vdc = `${rig.dir}/vdc.qcow2`;
      await run("qemu-img", ["create", "-q", "-f", "raw", vda, "1G"]);
      await qemuIoWrite(vda, "raw", 10 * MiB, 3 * MiB);
      await run("qemu-img", ["create", "-q", "-f", "raw", "-o", "preallocation=full", vdb, "64M"]);
      await run("qemu-img", ["create", "-q", "-f", "qcow2", vdc, "1G"]);
      await qemuIoWrite(vdc, "qcow2", 50 * MiB, 2 * MiB);
      const writes: GuestWrite[] = [
        { device: "vda", offsetMib: 100, lengthMib: 2 },
        { device: "vdb", offsetMib: 8, lengthMib: 1 },
        { device: "vdc", offsetMib: 700, lengthMib: 1 },
      ];
      const serial = `${rig.dir}/serial.log`;
      await rig.client.define({
        definition: guestWithDisks("blk", serial, [
          fileDisk("vda", vda, "raw"),
          fileDisk("vdb", vdb, "raw"),
          fileDisk("vdc", vdc, "qcow2"),
        ], writes),
      });

      // Inactive: from storage (reference §4, inactive table), against stat and qemu-img info.
      const before = {
        vda: await fileFigures(vda),
        vdb: await fileFigures(vdb),
        vdc: await fileFigures(vdc),
      };
      assert.ok(before.vda.allocatedBytes >= 3 * MiB && before.vda.allocatedBytes < 8 * MiB);
      assert.equal((await qemuImgInfo(vda, "raw")).actualSizeBytes, before.vda.allocatedBytes);
      const vdcImage = await qemuImgInfo(vdc, "qcow2");
      assert.equal(vdcImage.virtualSizeBytes, GiB);
      assert.equal(vdcImage.actualSizeBytes, before.vdc.allocatedBytes);
      assert.deepEqual(
        await rig.cli("domblkinfo", "blk", "vda"),
        {
          code: 0,
          stdout: blkinfoText(GiB, before.vda.allocatedBytes, GiB),
          stderr: "",
        },
      );
      assert.equal(
        (await rig.cli("domblkinfo", "blk", vdb)).stdout,
        blkinfoText(64 * MiB, before.vdb.allocatedBytes, 64 * MiB),
        "a disk named by its source path",
      );
      assert.equal(
        (await rig.cli("domblkinfo", "blk", "vdc")).stdout,
        blkinfoText(GiB, before.vdc.allocatedBytes, before.vdc.sizeBytes),
      );
      const inactiveStats = parseDomstats((await rig.cli("domstats", "--block", "blk")).stdout);
      assert.equal(inactiveStats.get("block.count"), "3");
      assert.equal(inactiveStats.get("block.0.path"), vda);
      assert.equal(inactiveStats.get("block.2.capacity"), String(GiB));
      assert.equal(inactiveStats.get("block.2.physical"), String(before.vdc.sizeBytes));
      assert.equal(inactiveStats.has("block.0.rd.reqs"), false, "no counters while inactive");

      await rig.client.action("blk", "start");
      for (const write of writes) {
        await waitForSerialMarker(serial, guestWriteDoneMarker(write), {
          timeoutMs: GUEST_BOOT_TIMEOUT_MS + WRITE_TIMEOUT_MS,
        });
      }
      assert.doesNotMatch(readSerialLog(serial), /EVIRT-(WRITE|INIT)-FAILED/);

      // Running: QMP and the three rules of reference §4, asked live.
      const vdaBlk = await rig.cli("domblkinfo", "blk", "vda");
      const vdaNow = await fileFigures(vda);
      assert.equal(vdaBlk.stdout, blkinfoText(GiB, 106954752, vdaNow.allocatedBytes));
      const vdbBlk = await rig.cli("domblkinfo", "blk", "vdb");
      const vdbNow = await fileFigures(vdb);
      assert.equal(vdbBlk.stdout, blkinfoText(64 * MiB, 9437184, vdbNow.allocatedBytes));
      const vdcBlk = await rig.cli("domblkinfo", "blk", "vdc");
      const vdcNow = await fileFigures(vdc);
      assert.equal(vdcBlk.stdout, blkinfoText(GiB, vdcNow.allocatedBytes, vdcNow.sizeBytes));
      assert.equal((await qemuImgInfo(vdc, "qcow2")).actualSizeBytes, vdcNow.allocatedBytes);
      const all = await rig.cli("domblkinfo", "blk", "--all", "--human");
      assert.match(all.stdout, /^ vda +1\.000 GiB +102\.000 MiB +\d+\.\d{3} MiB\n/m);

      // domstats: the stats contract (reference §5), from samples taken after the writes.
      const record = await waitForRecord(
        rig.client,
        "blk",
        "samples after the guest's writes",
        (each) =>
          statsMap(each).get("block.0.allocation") === 106954752 &&
          statsMap(each).get("block.1.allocation") === 9437184 &&
          (statsMap(each).get("block.2.wr.bytes") as number) >= MiB,
      );
      assert.equal(record.stale, false);
      assert.ok(record.sampleAgeMs !== null && record.sampleAgeMs < SAMPLE_WAIT_MS);
      const printed = parseDomstats((await rig.cli("domstats", "--block", "blk")).stdout);
      const vdaSampled = await fileFigures(vda);
      const vdcSampled = await fileFigures(vdc);
      const vdbSampled = await fileFigures(vdb);
      assert.equal(printed.get("block.count"), "3");
      assert.equal(printed.get("block.0.name"), "vda");
      assert.equal(printed.get("block.0.allocation"), "106954752");
      assert.equal(printed.get("block.0.capacity"), String(GiB));
      assert.equal(printed.get("block.0.physical"), String(vdaSampled.allocatedBytes));
      assert.equal(printed.get("block.1.allocation"), "9437184");
      assert.equal(printed.get("block.1.physical"), String(vdbSampled.allocatedBytes));
      assert.equal(printed.get("block.2.allocation"), String(vdcSampled.sizeBytes));
      assert.equal(printed.get("block.2.capacity"), String(GiB));
      assert.equal(printed.get("block.2.physical"), String(vdcSampled.allocatedBytes));
      assert.ok(Number(printed.get("block.0.wr.bytes")) >= 2 * MiB);

      const blkstat = await rig.cli("domblkstat", "blk", "vda");
      assert.equal(blkstat.code, 0);
      assert.match(blkstat.stdout, /^vda rd_req \d+\nvda rd_bytes \d+\nvda wr_req \d+\n/);
      const wrBytes = Number(/^vda wr_bytes (\d+)$/m.exec(blkstat.stdout)?.[1]);
      assert.ok(wrBytes >= 2 * MiB, `wr_bytes ${wrBytes}`);
      const other = parseDomstats(
        (await rig.cli("domstats", "--cpu-total", "--vcpu", "blk")).stdout,
      );
      assert.ok(Number(other.get("cpu.time")) > 0, "the guest used CPU time");
      assert.equal(other.get("vcpu.current"), "1");
      assert.ok(Number(other.get("vcpu.0.time")) > 0);
      const memory = await rig.cli("dommemstat", "blk");
      assert.match(memory.stdout, /^rss \d+\n\n$/, "no balloon: only the process's rss");
      const vcpus = await rig.cli("vcpuinfo", "blk");
      assert.match(vcpus.stdout, /^VCPU: {11}0\nCPU: {12}\d+\nState: {10}running\n/);
      console.log(
        `observed: vda ${JSON.stringify(vdaBlk.stdout)} vdb ${JSON.stringify(vdbBlk.stdout)} ` +
          `vdc ${JSON.stringify(vdcBlk.stdout)}; domstats block ${
            JSON.stringify(Object.fromEntries(printed))
          }`,
      );

      // A QEMU that stops answering: its samples turn stale, domstats still answers.
      const pid = rig.pid("blk");
      Deno.kill(pid, "SIGSTOP");
      try {
        const stale = await waitForRecord(rig.client, "blk", "stale samples", (each) => each.stale);
        assert.match(stale.staleReason ?? "", /timed out|timeout/i);
        assert.equal(statsMap(stale).get("block.0.allocation"), 106954752, "the last figures");
        const staleRun = await rig.cli("domstats", "--block", "blk");
        assert.equal(staleRun.code, 0);
        assert.match(staleRun.stderr, /^warning: statistics of domain 'blk' are stale/);
        await assert.rejects(
          () => rig.client.blockInfo("blk", "vda"),
          (error) => isVirtError(error, ErrorCode.OPERATION_TIMEOUT),
          "live block info of a hung monitor times out",
        );
      } finally {
        Deno.kill(pid, "SIGCONT");
      }
      await waitForRecord(rig.client, "blk", "fresh samples again", (each) => !each.stale);
      await rig.client.action("blk", "destroy");
    } finally {
      await rig.close();
    }
  },
);

testIf(
  "block info of qcow2 and raw on loop devices: inactive from the device, running by the rules",
  skip ?? loopDeviceSkipReason(),
  async () => {
    const rig = await openRig();
    try {
      const qcow2Backing = `${rig.dir}/qcow2-backing.img`;
      const rawBacking = `${rig.dir}/raw-backing.img`;
      await run("qemu-img", ["create", "-q", "-f", "raw", qcow2Backing, "64M"]);
      await run("qemu-img", ["create", "-q", "-f", "raw", rawBacking, "16M"]);
      await withLoopDevice(qcow2Backing, async (qcow2Device) => {
        await withLoopDevice(rawBacking, async (rawDevice) => {
          await run("qemu-img", ["create", "-q", "-f", "qcow2", qcow2Device, "32M"]);
          const write: GuestWrite = { device: "vda", offsetMib: 20, lengthMib: 1 };
          const serial = `${rig.dir}/serial.log`;
          await rig.client.define({
            definition: guestWithDisks("loop", serial, [
              blockDisk("vda", qcow2Device, "qcow2"),
              blockDisk("vdb", rawDevice, "raw"),
            ], [write]),
          });
          assert.equal(
            (await rig.cli("domblkinfo", "loop", "vda")).stdout,
            blkinfoText(32 * MiB, 0, 64 * MiB),
            "qcow2 on a block device: header capacity, allocation 0, device size",
          );
          assert.equal(
            (await rig.cli("domblkinfo", "loop", "vdb")).stdout,
            blkinfoText(16 * MiB, 16 * MiB, 16 * MiB),
            "raw block device: its size three times",
          );
          await rig.client.action("loop", "start");
          await waitForSerialMarker(serial, guestWriteDoneMarker(write), {
            timeoutMs: GUEST_BOOT_TIMEOUT_MS + WRITE_TIMEOUT_MS,
          });
          const info = await rig.client.blockInfo("loop", "vda");
          assert.equal(info.capacityBytes, 32 * MiB);
          assert.equal(info.physicalBytes, 64 * MiB, "actual-size 0: the device's size re-read");
          assert.ok(
            info.allocationBytes > MiB && info.allocationBytes < 8 * MiB,
            `allocation is the highest offset written in the device: ${info.allocationBytes}`,
          );
          const record = await waitForRecord(
            rig.client,
            "loop",
            "samples after the write",
            (each) => statsMap(each).get("block.0.allocation") === info.allocationBytes,
          );
          const stats = statsMap(record);
          assert.equal(stats.get("block.0.physical"), 64 * MiB, "the sampler re-read the device");
          assert.equal(stats.get("block.1.physical"), 16 * MiB);
          console.log(`observed: loop vda ${JSON.stringify(info)}`);
          await rig.client.action("loop", "destroy");
        });
      });
    } finally {
      await rig.close();
    }
  },
);

/** Why a tap device cannot be made here, or undefined. */
function tapSkipReason(): string | undefined {
  if (Deno.uid() !== 0) return "needs root to create a tap device";
  return missing("ip", "bash", "/dev/net/tun");
}

testIf(
  "domifstat and domstats give a tap's host counters in the guest's view",
  skip ?? tapSkipReason(),
  async () => {
    const rig = await openRig();
    try {
      const tap = `evst${Deno.pid % 100000}`;
      const subnet = `10.213.${Deno.pid % 250}`;
      const serial = `${rig.dir}/serial.log`;
      const definition = guestWithDisks("nic", serial, [], []);
      definition.devices.interfaces.push({
        type: "ethernet",
        mac: "52:54:00:e7:00:01",
        model: "virtio",
        target: { dev: tap },
      });
      await rig.client.define({ definition });
      await rig.client.action("nic", "start");
      // The host sends on the tap (ARP for an address nobody has): the guest's receive side.
      await run("ip", ["addr", "add", `${subnet}.1/30`, "dev", tap]);
      await run("ip", ["link", "set", tap, "up"]);
      for (let round = 0; round < 3; round++) {
        // A datagram to an address nobody has: the host sends ARP requests on the tap.
        await run("bash", ["-c", `echo evirt > /dev/udp/${subnet}.2/9`]).catch(() => {});
      }
      const host = async (counter: string) =>
        Number((await Deno.readTextFile(`/sys/class/net/${tap}/statistics/${counter}`)).trim());
      const record = await waitForRecord(rig.client, "nic", "the tap's counters", (each) => {
        const stats = statsMap(each);
        return (stats.get("net.0.rx.pkts") as number) > 0;
      });
      const stats = statsMap(record);
      assert.equal(stats.get("net.count"), 1);
      assert.equal(stats.get("net.0.name"), tap);
      // Counters only grow: what the guest received is what the host had transmitted by then.
      const hostTxPackets = await host("tx_packets");
      assert.ok((stats.get("net.0.rx.pkts") as number) <= hostTxPackets);
      assert.ok((stats.get("net.0.rx.bytes") as number) <= (await host("tx_bytes")));
      assert.equal(stats.get("net.0.tx.pkts"), await host("rx_packets"));
      const ifstat = await rig.cli("domifstat", "nic", "52:54:00:e7:00:01");
      assert.equal(ifstat.code, 0);
      const rxPackets = Number(/^52:54:00:e7:00:01 rx_packets (\d+)$/m.exec(ifstat.stdout)?.[1]);
      assert.ok(rxPackets >= (stats.get("net.0.rx.pkts") as number));
      assert.ok(rxPackets <= (await host("tx_packets")));
      console.log(`observed: tap ${tap} ${ifstat.stdout.trim().replaceAll("\n", ", ")}`);
      await rig.client.action("nic", "destroy");
    } finally {
      await rig.close();
    }
  },
);

/** Mounting a small tmpfs needs root and `mount`. */
const tmpfsSkip = skip ?? (Deno.uid() === 0 ? missing("mount", "umount") : "needs root to mount");

testIf(
  "domblkerror: a guest writing past the host's free space pauses with an I/O error and its disk reports no space",
  tmpfsSkip,
  async () => {
    const rig = await openRig();
    const small = searchableTempDirSync("evirt-full-disk-");
    try {
      await run("mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", small]);
      // 64 MiB for the guest on a file system of 4 MiB: the guest's 8 MiB write cannot land.
      const image = `${small}/vda.raw`;
      await run("truncate", ["-s", "64M", image]);
      const serial = `${rig.dir}/serial.log`;
      await rig.client.define({
        definition: guestWithDisks("full", serial, [fileDisk("vda", image, "raw")], [
          { device: "vda", offsetMib: 0, lengthMib: 8 },
        ]),
      });
      assert.deepEqual(await rig.cli("domblkerror", "full"), {
        code: 1,
        stdout: "\n",
        stderr: "error: Requested operation is not valid: domain is not running\n",
      });
      await rig.client.action("full", "start");
      assert.deepEqual(await rig.cli("domblkerror", "full"), {
        code: 0,
        stdout: "No errors found\n\n",
        stderr: "",
      });
      await waitForSerialMarker(serial, "GUEST-READY", { timeoutMs: GUEST_BOOT_TIMEOUT_MS });
      const deadline = Date.now() + WRITE_TIMEOUT_MS;
      let state = "";
      while (Date.now() < deadline && !state.startsWith("paused")) {
        state = (await rig.cli("domstate", "--reason", "full")).stdout.trim();
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.equal(state, "paused (I/O error)");
      assert.deepEqual(await rig.cli("domblkerror", "full"), {
        code: 0,
        stdout: "vda: no space\n\n",
        stderr: "",
      });
      assert.deepEqual(await rig.client.diskErrors("full"), {
        disks: 1,
        errors: [{ target: "vda", error: "no-space" }],
      });
      await rig.client.action("full", "destroy");
    } finally {
      try {
        await rig.close();
      } finally {
        await run("umount", [small]).catch(() => {});
        await Deno.remove(small, { recursive: true });
      }
    }
  },
);
