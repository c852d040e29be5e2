/**
 * Block info rules against a real QEMU 7.2: three disks started the way the QEMU driver starts
 * them (`-blockdev` file + format nodes, `virtio-blk-pci` devices), written at known offsets
 * through the monitor's `qemu-io` (no guest needed), then read back with `query-blockstats` and
 * `query-named-block-nodes`.
 *
 * The QMP exchange here is deliberately minimal (greeting, capabilities, one command at a time,
 * events skipped): the real monitor lives in the QEMU driver.
 */

import assert from "node:assert/strict";
import {
  type BlockInfo,
  blockInfoRunning,
  blockStatsFields,
} from "../../src/storage/block_info.ts";
import type { BlockQmpReplies } from "../../drivers/qemu/block_node_facts.ts";
import { qmpBlockFigures } from "../../drivers/qemu/qmp_block_figures.ts";
import { missing, testIf } from "../support/environment.ts";
import {
  loopDeviceSkipReason,
  qemuImgInfo,
  run,
  withLoopDevice,
  withTempDir,
} from "../src/storage/_block_images.ts";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** How long QEMU may take to create its monitor socket. */
const SOCKET_WAIT_MS = 10_000;
const SOCKET_POLL_MS = 20;
/** How long one QMP command may take. */
const COMMAND_TIMEOUT_MS = 10_000;
/** How long QEMU may take to exit after SIGTERM before it is killed. */
const EXIT_WAIT_MS = 5_000;
/** Longest QMP line accepted. */
const LINE_MAX_BYTES = 4 * 1024 * 1024;

/** A minimal QMP client: one command in flight, events skipped, a timeout per command. */
class MiniQmp {
  #connection: Deno.UnixConn;
  #reader: ReadableStreamDefaultReader<string>;
  #buffer = "";

  private constructor(connection: Deno.UnixConn) {
    this.#connection = connection;
    this.#reader = connection.readable.pipeThrough(new TextDecoderStream()).getReader();
  }

  static async connect(path: string): Promise<MiniQmp> {
    const deadline = Date.now() + SOCKET_WAIT_MS;
    for (;;) {
      let qmp: MiniQmp | undefined;
      try {
        qmp = new MiniQmp(await Deno.connect({ transport: "unix", path }));
        const greeting = await qmp.#readMessage();
        assert.ok("QMP" in greeting, `expected the QMP greeting, got ${JSON.stringify(greeting)}`);
        await qmp.execute("qmp_capabilities");
        return qmp;
      } catch (error) {
        await qmp?.close();
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, SOCKET_POLL_MS));
      }
    }
  }

  async execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    const message = { execute: command, ...(args === undefined ? {} : { arguments: args }) };
    await this.#connection.write(new TextEncoder().encode(JSON.stringify(message) + "\n"));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`QMP ${command} timed out after ${COMMAND_TIMEOUT_MS} ms`)),
        COMMAND_TIMEOUT_MS,
      );
    });
    try {
      return await Promise.race([this.#reply(command), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async #reply(command: string): Promise<unknown> {
    for (;;) {
      const message = await this.#readMessage();
      if ("event" in message) continue;
      if ("error" in message) throw new Error(`QMP ${command}: ${JSON.stringify(message.error)}`);
      return message.return;
    }
  }

  async #readMessage(): Promise<Record<string, unknown>> {
    for (;;) {
      const newline = this.#buffer.indexOf("\n");
      if (newline >= 0) {
        const line = this.#buffer.slice(0, newline);
        this.#buffer = this.#buffer.slice(newline + 1);
        if (line.trim() !== "") return JSON.parse(line);
        continue;
      }
      if (this.#buffer.length > LINE_MAX_BYTES) throw new Error("QMP line too long");
      const { value, done } = await this.#reader.read();
      if (done) throw new Error("QMP connection closed");
      this.#buffer += value;
    }
  }

  async close(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
    try {
      this.#connection.close();
    } catch {
      // already closed by the peer
    }
  }
}

interface TestDisk {
  alias: string;
  target: string;
  path: string;
  format: "raw" | "qcow2";
  fileDriver: "file" | "host_device";
}

function blockdevArgs(disk: TestDisk): string[] {
  return [
    "-blockdev",
    `driver=${disk.fileDriver},filename=${disk.path},node-name=file-${disk.target}`,
    "-blockdev",
    `driver=${disk.format},file=file-${disk.target},node-name=fmt-${disk.target}`,
    "-device",
    `virtio-blk-pci,drive=fmt-${disk.target},id=${disk.alias}`,
  ];
}

/** Starts QEMU paused with `disks`, runs `fn` with its monitor, always kills QEMU by its PID. */
async function withQemu(
  dir: string,
  disks: TestDisk[],
  fn: (qmp: MiniQmp) => Promise<void>,
): Promise<void> {
  const socket = `${dir}/qmp.sock`;
  const child = new Deno.Command("qemu-system-x86_64", {
    args: [
      "-machine",
      "q35,accel=tcg",
      "-nodefaults",
      "-display",
      "none",
      "-S",
      "-qmp",
      `unix:${socket},server=on,wait=off`,
      ...disks.flatMap(blockdevArgs),
    ],
    stdin: "null",
    stdout: "null", // the monitor's qemu-io prints its progress there
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  let qmp: MiniQmp | undefined;
  try {
    qmp = await MiniQmp.connect(socket);
    await fn(qmp);
  } catch (error) {
    throw new Error(`${error}\nQEMU stderr: ${await stopQemu(child, stderr)}`, { cause: error });
  } finally {
    await qmp?.close();
    await stopQemu(child, stderr);
  }
}

async function stopQemu(child: Deno.ChildProcess, stderr: Promise<string>): Promise<string> {
  try {
    child.kill("SIGTERM");
  } catch {
    // already gone
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const exited = await Promise.race([
    child.status.then(() => true),
    new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), EXIT_WAIT_MS)),
  ]);
  clearTimeout(timer);
  if (!exited) {
    child.kill("SIGKILL");
    await child.status;
  }
  return await stderr;
}

async function replies(qmp: MiniQmp): Promise<BlockQmpReplies> {
  return {
    blockstats: await qmp.execute("query-blockstats"),
    namedNodes: await qmp.execute("query-named-block-nodes"),
  };
}

/** Writes through the device's own block backend, as a guest's writes would go. */
async function guestWrite(qmp: MiniQmp, disk: TestDisk, offset: string, length: string) {
  const answer = await qmp.execute("human-monitor-command", {
    "command-line": `qemu-io -d /machine/peripheral/${disk.alias}/virtio-backend ` +
      `"write -P 0xab ${offset} ${length}"`,
  });
  assert.equal(answer, "", `qemu-io on ${disk.alias} answered ${JSON.stringify(answer)}`);
}

async function fileStat(path: string): Promise<{ sizeBytes: number; allocatedBytes: number }> {
  const stat = await Deno.stat(path);
  return { sizeBytes: stat.size, allocatedBytes: stat.blocks! * 512 };
}

function info(capacityBytes: number, allocationBytes: number, physicalBytes: number): BlockInfo {
  return { capacityBytes, allocationBytes, physicalBytes };
}

async function statsOf(
  index: number,
  qmpReplies: BlockQmpReplies,
  disk: TestDisk,
): Promise<Record<string, number>> {
  const fields = await blockStatsFields(index, {
    state: "running",
    figures: qmpBlockFigures(qmpReplies, {
      target: disk.target,
      nodeName: `fmt-${disk.target}`,
      path: disk.path,
    }),
  });
  return Object.fromEntries(
    fields.map(({ key, value }) => [key.slice(`block.${index}.`.length), value]),
  );
}

const needsQemu = missing("qemu-system-x86_64", "qemu-img");

testIf("blockInfoRunning() follows reference §4 on a running QEMU", needsQemu, async () => {
  await withTempDir(async (dir) => {
    const vda: TestDisk = {
      alias: "virtio-disk0",
      target: "vda",
      path: `${dir}/vda.raw`,
      format: "raw",
      fileDriver: "file",
    };
    const vdb: TestDisk = { ...vda, alias: "virtio-disk1", target: "vdb", path: `${dir}/vdb.raw` };
    const vdc: TestDisk = {
      ...vda,
      alias: "virtio-disk2",
      target: "vdc",
      path: `${dir}/vdc.qcow2`,
      format: "qcow2",
    };
    await run("qemu-img", ["create", "-q", "-f", "raw", vda.path, "1G"]);
    await run("qemu-img", [
      "create",
      "-q",
      "-f",
      "raw",
      "-o",
      "preallocation=full",
      vdb.path,
      "64M",
    ]);
    await run("qemu-img", ["create", "-q", "-f", "qcow2", vdc.path, "1G"]);
    await withQemu(dir, [vda, vdb, vdc], async (qmp) => {
      const running = async (disk: TestDisk, qmpReplies: BlockQmpReplies) =>
        await blockInfoRunning(qmpBlockFigures(qmpReplies, {
          target: disk.target,
          qdevId: disk.alias,
          path: disk.path,
        }));

      // Before anything is written: allocation = actual-size, physical = st_size (rule 3).
      const before = await replies(qmp);
      for (const disk of [vda, vdb, vdc]) {
        const stat = await fileStat(disk.path);
        const capacityBytes = disk === vdb ? 64 * MiB : GiB;
        assert.deepEqual(
          await running(disk, before),
          info(capacityBytes, stat.allocatedBytes, stat.sizeBytes),
          `${disk.target} before writes`,
        );
      }
      const vdaStatsBefore = await statsOf(0, before, vda);
      assert.equal(vdaStatsBefore["allocation"], 0, "allocation is emitted even when 0");

      await guestWrite(qmp, vda, "100M", "2M");
      await guestWrite(qmp, vdb, "8M", "1M");
      await guestWrite(qmp, vdc, "700M", "1M");
      const after = await replies(qmp);
      const vdaFile = await fileStat(vda.path);
      const vdbFile = await fileStat(vdb.path);
      const vdcFile = await fileStat(vdc.path);

      // vda: a sparse raw file; allocation is the highest written offset, physical actual-size.
      assert.deepEqual(await running(vda, after), info(GiB, 106954752, vdaFile.allocatedBytes));
      assert.ok(vdaFile.allocatedBytes >= 2 * MiB && vdaFile.allocatedBytes < 8 * MiB);
      // vdb: a fully allocated raw file.
      assert.deepEqual(await running(vdb, after), info(64 * MiB, 9437184, vdbFile.allocatedBytes));
      // vdc: qcow2 on a file; allocation = actual-size, so physical is re-read (st_size).
      assert.deepEqual(
        await running(vdc, after),
        info(GiB, vdcFile.allocatedBytes, vdcFile.sizeBytes),
      );
      const image = await qemuImgInfo(vdc.path, "qcow2");
      assert.equal(image.actualSizeBytes, vdcFile.allocatedBytes);
      assert.equal(image.virtualSizeBytes, GiB);

      const vdaStats = await statsOf(0, after, vda);
      assert.equal(vdaStats["allocation"], 106954752);
      assert.equal(vdaStats["capacity"], GiB);
      assert.equal(vdaStats["physical"], vdaFile.allocatedBytes);
      const vdcStats = await statsOf(2, after, vdc);
      assert.equal(vdcStats["allocation"], vdcFile.sizeBytes, "the file node's highest offset");
      assert.equal(vdcStats["capacity"], GiB);
      assert.equal(vdcStats["physical"], vdcFile.allocatedBytes);
      for (
        const key of [
          "rd.reqs",
          "rd.bytes",
          "rd.times",
          "wr.reqs",
          "wr.bytes",
          "wr.times",
          "fl.reqs",
          "fl.times",
        ]
      ) {
        assert.equal(typeof vdcStats[key], "number", `${key} is reported`);
      }
      console.log(
        `observed: vda ${JSON.stringify(await running(vda, after))}, ` +
          `vdb ${JSON.stringify(await running(vdb, after))}, ` +
          `vdc ${JSON.stringify(await running(vdc, after))}; ` +
          `stats vda ${JSON.stringify(vdaStats)}; stats vdc ${JSON.stringify(vdcStats)}`,
      );
    });
  });
});

const needsLoop = needsQemu ?? loopDeviceSkipReason();

testIf(
  "blockInfoRunning() follows reference §4 for qcow2 on a loop device in QEMU",
  needsLoop,
  async () => {
    await withTempDir(async (dir) => {
      const backing = `${dir}/backing.img`;
      await run("qemu-img", ["create", "-q", "-f", "raw", backing, "64M"]);
      await withLoopDevice(backing, async (device) => {
        await run("qemu-img", ["create", "-q", "-f", "qcow2", device, "32M"]);
        const vdd: TestDisk = {
          alias: "virtio-disk3",
          target: "vdd",
          path: device,
          format: "qcow2",
          fileDriver: "host_device",
        };
        await withQemu(dir, [vdd], async (qmp) => {
          const disk = { target: "vdd", nodeName: "fmt-vdd", path: device };
          // Nothing written yet: no highest offset, no actual-size; physical is the device's size.
          assert.deepEqual(
            await blockInfoRunning(qmpBlockFigures(await replies(qmp), disk)),
            info(32 * MiB, 0, 64 * MiB),
          );
          await guestWrite(qmp, vdd, "20M", "1M");
          const after = await replies(qmp);
          const result = await blockInfoRunning(qmpBlockFigures(after, disk));
          assert.equal(result.capacityBytes, 32 * MiB);
          assert.equal(result.physicalBytes, 64 * MiB);
          assert.ok(
            result.allocationBytes > MiB && result.allocationBytes < 4 * MiB,
            `allocation is the highest offset written in the device: ${result.allocationBytes}`,
          );
          const stats = await statsOf(0, after, vdd);
          assert.equal(stats["allocation"], result.allocationBytes);
          assert.equal(stats["physical"], 64 * MiB, "actual-size 0: the device's size is re-read");
          console.log(`observed: vdd ${JSON.stringify(result)}; stats ${JSON.stringify(stats)}`);
        });
      });
    });
  },
);
