/**
 * Block jobs on a real QEMU guest: an active commit of an overlay into its base while the guest
 * writes (after the pivot the disk runs on the base, and the guest's write is in the base file
 * once the guest stops), a pull that flattens a chain, a copy aborted (nothing changes) and a
 * copy pivoted (the live XML names the copy, QEMU writes to it); libvirt's refusals (an unknown
 * disk, a second job on a disk, an inactive domain, a pivot before ready) append nothing. Each
 * step is checked in the log: the start's intent comes before the job runs, and each job's end
 * is a `domain.block_job_ended` that is a BLOCK_JOB_2 event.
 *
 * @module
 */

import assert from "node:assert/strict";
import { BlockCommitFlag, BlockCopyFlag, BlockJobAbortFlag } from "../../src/model/block_jobs.ts";
import { ErrorCode, isVirtError } from "../../src/model/errors.ts";
import type { DomainFact } from "../../src/model/facts.ts";
import { libvirtEventOf } from "../../src/model/lifecycle_table.ts";
import { liveFactsOf } from "../../src/model/live_facts.ts";
import { missing, testIf } from "../support/environment.ts";
import {
  GUEST_BOOT_TIMEOUT_MS,
  GUEST_READY_MARKER,
  guestKernelCmdline,
  guestSkipReason,
  guestWriteDoneMarker,
  waitForSerialMarker,
} from "../support/guest.ts";
import { guestDefinition, openQemuRig, type QemuRig } from "./_qemu_guest.ts";
import { Host } from "../../actors/host.ts";
import { QemuDriver } from "../../drivers/qemu/qemu_driver.ts";

const skip = guestSkipReason() ?? missing("qemu-system-x86_64") ?? missing("qemu-img");

const MIB = 1024 * 1024;
const IMAGE_BYTES = 16 * MIB;
/** The guest writes 1 MiB of zeros at 4 MiB of its first disk. */
const WRITE = { device: "vda", offsetMib: 4, lengthMib: 1 };
/** The base images hold this byte at 4 MiB..5 MiB, so the guest's zeros are told apart. */
const PATTERN = 0xab;
const WAIT_MS = 20_000;

async function qemuImg(...args: string[]): Promise<string> {
  const output = await new Deno.Command("qemu-img", { args, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(output.stdout);
  if (!output.success) {
    throw new Error(`qemu-img ${args.join(" ")}: ${new TextDecoder().decode(output.stderr)}`);
  }
  return text;
}

/** A raw base with the pattern at 4 MiB and a qcow2 overlay over it. */
async function chain(dir: string, name: string): Promise<{ base: string; top: string }> {
  const base = `${dir}/${name}-base.raw`;
  const top = `${dir}/${name}-top.qcow2`;
  using file = Deno.openSync(base, { create: true, write: true });
  file.truncateSync(IMAGE_BYTES);
  file.seekSync(4 * MIB, Deno.SeekMode.Start);
  file.writeSync(new Uint8Array(MIB).fill(PATTERN));
  await qemuImg("create", "-q", "-f", "qcow2", "-F", "raw", "-b", base, top);
  // As root the service gives the images to QEMU's user; otherwise QEMU runs as us.
  Deno.chmodSync(base, 0o600);
  Deno.chmodSync(top, 0o600);
  return { base, top };
}

function bytesAt(path: string, offset: number, length: number): Uint8Array {
  using file = Deno.openSync(path, { read: true });
  file.seekSync(offset, Deno.SeekMode.Start);
  const buffer = new Uint8Array(length);
  let read = 0;
  while (read < length) {
    const count = file.readSync(buffer.subarray(read));
    if (count === null) break;
    read += count;
  }
  return buffer;
}

async function facts(rig: QemuRig, after = 0): Promise<DomainFact[]> {
  return (await rig.store.readAll({ afterPosition: after }))
    .map((event) => ({ type: event.type, body: event.body }) as DomainFact);
}

async function position(rig: QemuRig): Promise<number> {
  const all = await rig.store.readAll({ afterPosition: 0 });
  return all.at(-1)?.position ?? 0;
}

/** Waits until the domain's job of `disk` is in `phase`, or gone (`phase` undefined). */
async function awaitPhase(rig: QemuRig, name: string, disk: string, phase?: string) {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const entry = rig.host.context(name).blockJobs?.[disk];
    if (phase === undefined ? entry === undefined : entry?.phase === phase) return;
    if (Date.now() > deadline) {
      throw new Error(`${disk}: job still ${entry?.phase ?? "absent"}, waited for ${phase}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function blockJobEvents(list: DomainFact[], disk: string): string[] {
  return list.filter((fact) => (fact.body as { disk?: string }).disk === disk).map((fact) => {
    const event = libvirtEventOf(fact);
    return event === undefined
      ? fact.type.replace("domain.", "")
      : `${event.event} type=${event.data?.type} status=${event.data?.status}`;
  });
}

testIf(
  "block jobs on a running QEMU guest: active commit with pivot while the guest writes, pull, copy aborted, copy pivoted; refusals change nothing",
  skip,
  async () => {
    const rig = await openQemuRig();
    try {
      const vda = await chain(rig.dir, "vda");
      const vdb = await chain(rig.dir, "vdb");
      const serial = `${rig.dir}/serial.log`;
      const definition = guestDefinition("bj", { serial: { file: serial } });
      definition.os.cmdline = guestKernelCmdline([WRITE]);
      for (const [target, images] of [["vda", vda], ["vdb", vdb]] as const) {
        definition.devices.disks.push({
          type: "file",
          device: "disk",
          driver: { name: "qemu", type: "qcow2" },
          source: { file: images.top, hosts: [] },
          target: { dev: target, bus: "virtio" },
        });
      }
      await rig.host.define(definition);
      const { uuid } = rig.host.lookup("bj");

      // Refusals of an inactive domain, as libvirtd 9.0 answers them; nothing is appended.
      const quiet = await position(rig);
      const refusals: [string, () => Promise<unknown>, number, string][] = [
        [
          "commit of an inactive domain (its chain is unknown)",
          () =>
            rig.host.command("blockjob", uuid, {
              action: "commit",
              disk: "vda",
              bandwidth: 0n,
              flags: 0,
            }),
          ErrorCode.INVALID_ARG,
          "could not find base image in chain for 'vda'",
        ],
        [
          "pull of an inactive domain",
          () =>
            rig.host.command("blockjob", uuid, {
              action: "pull",
              disk: "vda",
              bandwidth: 0n,
              flags: 0,
            }),
          ErrorCode.OPERATION_INVALID,
          "domain is not running",
        ],
        [
          "abort on an inactive domain",
          () => rig.host.endBlockJob("bj", { disk: "vda", flags: 0 }),
          ErrorCode.OPERATION_INVALID,
          "domain is not running",
        ],
      ];
      for (const [what, call, code, message] of refusals) {
        await assert.rejects(call, (error) => {
          assert.ok(isVirtError(error), `${what}: ${error}`);
          assert.equal(error.code, code, what);
          assert.equal(error.message, message, what);
          return true;
        });
      }
      assert.equal(await position(rig), quiet, "refusals of an inactive domain append nothing");

      await rig.host.start("bj");
      const started = await position(rig);
      // The active commit starts while the guest boots: its write lands during the job.
      await rig.host.command("blockjob", uuid, {
        action: "commit",
        disk: "vda",
        bandwidth: 0n,
        flags: BlockCommitFlag.ACTIVE,
      });
      const running: [string, () => Promise<unknown>, number, string][] = [
        [
          "an unknown disk",
          () =>
            rig.host.command("blockjob", uuid, {
              action: "pull",
              disk: "vdz",
              bandwidth: 0n,
              flags: 0,
            }),
          ErrorCode.INVALID_ARG,
          "disk 'vdz' not found in domain",
        ],
        [
          "a second job on a disk",
          () =>
            rig.host.command("blockjob", uuid, {
              action: "pull",
              disk: "vda",
              bandwidth: 0n,
              flags: 0,
            }),
          ErrorCode.OPERATION_UNSUPPORTED,
          "disk 'vda' already in active block job",
        ],
        [
          "a commit of the active layer without the active flag",
          () =>
            rig.host.command("blockjob", uuid, {
              action: "commit",
              disk: "vdb",
              bandwidth: 0n,
              flags: 0,
            }),
          ErrorCode.INVALID_ARG,
          "commit of 'vdb' active layer requires active flag",
        ],
        [
          "a copy of a persistent domain without a transient job",
          () =>
            rig.host.command("blockjob", uuid, {
              action: "copy",
              disk: "vdb",
              destination: { path: `${rig.dir}/never.qcow2`, type: "file" },
              bandwidthBytes: 0n,
              flags: 0,
            }),
          ErrorCode.OPERATION_INVALID,
          "domain is not transient",
        ],
        [
          "an abort of a disk without a job",
          () => rig.host.endBlockJob("bj", { disk: "vdb", flags: 0 }),
          ErrorCode.INVALID_ARG,
          "disk vdb does not have an active block job",
        ],
      ];
      const beforeRefusals = await position(rig);
      for (const [what, call, code, message] of running) {
        await assert.rejects(call, (error) => {
          assert.ok(isVirtError(error), `${what}: ${error}`);
          assert.equal(error.code, code, what);
          assert.equal(error.message, message, what);
          return true;
        });
      }
      // Only what QEMU reported meanwhile (the commit's synchronized phase) may be in the log.
      const meanwhile = (await facts(rig, beforeRefusals)).map((fact) => fact.type);
      assert.deepEqual(
        meanwhile.filter((type) => type !== "domain.block_job_ready"),
        [],
        "refusals append nothing",
      );
      assert.throws(() => Deno.statSync(`${rig.dir}/never.qcow2`), Deno.errors.NotFound);

      // A pull of vdb runs beside the commit of vda and flattens its chain.
      await rig.host.command("blockjob", uuid, {
        action: "pull",
        disk: "vdb",
        bandwidth: 0n,
        flags: 0,
      });
      await awaitPhase(rig, "bj", "vdb");
      assert.deepEqual(liveFactsOf(rig.host.context("bj").runtime)?.disks?.[1]?.backing, []);

      await waitForSerialMarker(serial, GUEST_READY_MARKER, { timeoutMs: GUEST_BOOT_TIMEOUT_MS });
      await waitForSerialMarker(serial, guestWriteDoneMarker(WRITE), { timeoutMs: WAIT_MS });
      await awaitPhase(rig, "bj", "vda", "ready");
      await rig.host.endBlockJob("bj", { disk: "vda", flags: BlockJobAbortFlag.PIVOT });
      let live = rig.host.context("bj").live!;
      assert.equal(live.devices.disks[0].source?.file, vda.base, "the disk runs on the base");
      assert.equal(live.devices.disks[0].driver?.type, "raw");
      // As libvirt, the persistent definition follows the pivot (its disk named the same image).
      const config = rig.host.context("bj").definition!;
      assert.equal(config.devices.disks[0].source?.file, vda.base);
      assert.equal(config.devices.disks[1].source?.file, vdb.top, "a pull keeps the source");
      const inQemu = await rig.driver.qmpOf(uuid).queryBlock();
      assert.ok(inQemu.some((block) => block.inserted?.file === vda.base), "QEMU runs on the base");

      // A copy aborted: nothing changes; a pivot before it is ready is refused.
      const aborted = `${rig.dir}/aborted.qcow2`;
      await rig.host.command("blockjob", uuid, {
        action: "copy",
        disk: "vda",
        destination: { path: aborted, type: "file", format: "qcow2" },
        bandwidthBytes: 0n,
        flags: BlockCopyFlag.TRANSIENT_JOB,
      });
      await assert.rejects(
        rig.host.command("blockjob", uuid, {
          action: "pull",
          disk: "vda",
          bandwidth: 0n,
          flags: 0,
        }),
        (error) =>
          isVirtError(error, ErrorCode.BLOCK_COPY_ACTIVE) &&
          error.message === "disk 'vda' already in active block job",
      );
      await awaitPhase(rig, "bj", "vda", "ready");
      await rig.host.endBlockJob("bj", { disk: "vda", flags: 0 });
      live = rig.host.context("bj").live!;
      assert.equal(live.devices.disks[0].source?.file, vda.base, "an aborted copy changes nothing");

      // A copy pivoted: the disk runs on the copy.
      const copy = `${rig.dir}/copy.qcow2`;
      await rig.host.command("blockjob", uuid, {
        action: "copy",
        disk: "vda",
        destination: { path: copy, type: "file", format: "qcow2" },
        bandwidthBytes: 0n,
        flags: BlockCopyFlag.TRANSIENT_JOB,
      });
      await awaitPhase(rig, "bj", "vda", "ready");
      await rig.host.endBlockJob("bj", { disk: "vda", flags: BlockJobAbortFlag.PIVOT });
      live = rig.host.context("bj").live!;
      assert.equal(live.devices.disks[0].source?.file, copy, "the live definition names the copy");
      assert.equal(live.devices.disks[0].driver?.type, "qcow2");
      assert.equal(rig.host.context("bj").definition!.devices.disks[0].source?.file, copy);
      const afterPivot = await rig.driver.qmpOf(uuid).queryBlock();
      assert.ok(afterPivot.some((block) => block.inserted?.file === copy), "QEMU runs on the copy");

      const log = await facts(rig, started);
      assert.deepEqual(blockJobEvents(log, "vda"), [
        "block_job_starting",
        "block_job_started",
        "block-job-2 type=4 status=3",
        "block_job_ending",
        "block-job-2 type=4 status=0",
        "block_job_starting",
        "block_job_started",
        "block-job-2 type=2 status=3",
        "block_job_ending",
        "block-job-2 type=2 status=2",
        "block_job_starting",
        "block_job_started",
        "block-job-2 type=2 status=3",
        "block_job_ending",
        "block-job-2 type=2 status=0",
      ]);
      assert.deepEqual(blockJobEvents(log, "vdb"), [
        "block_job_starting",
        "block_job_started",
        "block-job-2 type=1 status=0",
      ]);

      await rig.host.command("destroy", uuid, {});
      // The guest's zeros went through the overlay into the base (the pattern is gone there).
      assert.deepEqual(bytesAt(vda.base, 4 * MIB, 16), new Uint8Array(16));
      assert.deepEqual(bytesAt(vda.base, 5 * MIB, 16), new Uint8Array(16));
      // The copy holds what the disk held; the pulled overlay stands alone with the base's data.
      await qemuImg("compare", "-q", "-f", "qcow2", "-F", "raw", copy, vda.base);
      const pulled = JSON.parse(await qemuImg("info", "--output=json", vdb.top));
      assert.equal(pulled["backing-filename"], undefined, "the pull flattened the chain");
      await qemuImg("compare", "-q", "-f", "qcow2", "-F", "raw", vdb.top, vdb.base);
    } finally {
      await rig.close();
    }
  },
);

testIf(
  "a block job outlives the service: a new service finds it running in QEMU, then records its pivot",
  skip,
  async () => {
    const rig = await openQemuRig();
    let second: Host | undefined;
    try {
      const vda = await chain(rig.dir, "vda");
      // Every byte of the base written, so the copy has 16 MiB to move under its limit.
      using file = Deno.openSync(vda.base, { write: true });
      file.writeSync(new Uint8Array(IMAGE_BYTES).fill(PATTERN));
      const serial = `${rig.dir}/serial.log`;
      const definition = guestDefinition("bjr", { serial: { file: serial } });
      definition.devices.disks.push({
        type: "file",
        device: "disk",
        driver: { name: "qemu", type: "qcow2" },
        source: { file: vda.top, hosts: [] },
        target: { dev: "vda", bus: "virtio" },
      });
      await rig.host.define(definition);
      await rig.host.start("bjr");
      const { uuid } = rig.host.lookup("bjr");
      const copy = `${rig.dir}/copy.qcow2`;
      await rig.host.command("blockjob", uuid, {
        action: "copy",
        disk: "vda",
        destination: { path: copy, type: "file", format: "qcow2" },
        bandwidthBytes: 64n * 1024n,
        bufferBytes: 64n * 1024n,
        flags: BlockCopyFlag.TRANSIENT_JOB,
      });
      assert.equal(rig.host.context("bjr").blockJobs?.vda?.phase, "running");
      await rig.host.close();

      // Another service on the same log: QEMU still copies; reconcile finds the job.
      const driver = await QemuDriver.create({
        runtimeDir: `${rig.dir}/run`,
        logDir: `${rig.dir}/log`,
        log: () => {},
      });
      second = await Host.open({ store: rig.store, drivers: [driver], log: () => {} });
      const found = second.context("bjr").blockJobs?.vda;
      assert.equal(found?.type, "copy");
      assert.notEqual(found?.phase, "starting");
      const jobs = await driver.blockJobs(
        { ...rig.host.inspect("bjr").handle!, runtime: second.context("bjr").runtime! },
        AbortSignal.timeout(5_000),
      );
      assert.equal(jobs.length, 1, "QEMU still runs the copy");
      await second.command("blockjob", uuid, {
        action: "speed",
        disk: "vda",
        bandwidth: 0n,
        flags: 0,
      });
      const deadline = Date.now() + WAIT_MS;
      while (second.context("bjr").blockJobs?.vda?.phase !== "ready") {
        assert.ok(Date.now() < deadline, "the copy becomes ready under the new service");
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await second.endBlockJob("bjr", { disk: "vda", flags: BlockJobAbortFlag.PIVOT });
      assert.equal(second.context("bjr").live?.devices.disks[0].source?.file, copy);
      const log = await facts(rig);
      assert.deepEqual(blockJobEvents(log, "vda").slice(-3), [
        "block-job-2 type=2 status=3",
        "block_job_ending",
        "block-job-2 type=2 status=0",
      ]);
    } finally {
      await second?.close();
      await rig.close();
    }
  },
);
