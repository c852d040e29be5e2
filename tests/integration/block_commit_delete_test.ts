/**
 * `blockcommit --delete` on a real QEMU guest, as libvirt 9.0 does it: the images a commit takes
 * out of the chain are deleted once the job has completed — a commit of a middle image at once,
 * an active commit only after its pivot (an abort keeps every image) — and the base and the
 * images still in the chain stay. The start's intent names the images it will delete.
 *
 * @module
 */

import assert from "node:assert/strict";
import { BlockCommitFlag, BlockJobAbortFlag } from "../../src/model/block_jobs.ts";
import type { BlockJobStart } from "../../src/model/facts.ts";
import { missing, testIf } from "../support/environment.ts";
import { guestSkipReason } from "../support/guest.ts";
import { guestDefinition, openQemuRig, type QemuRig } from "./_qemu_guest.ts";

const skip = guestSkipReason() ?? missing("qemu-system-x86_64") ?? missing("qemu-img");

const MIB = 1024 * 1024;
const WAIT_MS = 20_000;

async function qemuImg(...args: string[]): Promise<void> {
  const output = await new Deno.Command("qemu-img", { args, stdout: "null", stderr: "piped" })
    .output();
  if (!output.success) {
    throw new Error(`qemu-img ${args.join(" ")}: ${new TextDecoder().decode(output.stderr)}`);
  }
}

/** base.raw ← mid.qcow2 ← top.qcow2, each readable only by its owner. */
async function threeLayers(dir: string): Promise<{ base: string; mid: string; top: string }> {
  const base = `${dir}/base.raw`;
  const mid = `${dir}/mid.qcow2`;
  const top = `${dir}/top.qcow2`;
  await qemuImg("create", "-q", "-f", "raw", base, `${16 * MIB}`);
  await qemuImg("create", "-q", "-f", "qcow2", "-F", "raw", "-b", base, mid);
  await qemuImg("create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", mid, top);
  for (const path of [base, mid, top]) Deno.chmodSync(path, 0o600);
  return { base, mid, top };
}

function present(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

async function awaitPhase(rig: QemuRig, name: string, phase?: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const entry = rig.host.context(name).blockJobs?.vda;
    if (phase === undefined ? entry === undefined : entry?.phase === phase) return;
    if (Date.now() > deadline) {
      throw new Error(`vda: job ${entry?.phase ?? "absent"}, not ${phase}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Waits until `path` is gone (the deletion follows the job's durable end). */
async function awaitGone(path: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (present(path)) {
    if (Date.now() > deadline) throw new Error(`${path} is still there`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

testIf(
  "blockcommit --delete removes the committed images once the commit completes, and after an active commit's pivot only",
  skip,
  async () => {
    const rig = await openQemuRig();
    try {
      const images = await threeLayers(rig.dir);
      const definition = guestDefinition("bcd", { serial: { file: `${rig.dir}/serial.log` } });
      definition.devices.disks.push({
        type: "file",
        device: "disk",
        driver: { name: "qemu", type: "qcow2" },
        source: { file: images.top, hosts: [] },
        target: { dev: "vda", bus: "virtio" },
      });
      await rig.host.define(definition);
      await rig.host.start("bcd");
      const { uuid } = rig.host.lookup("bcd");

      // The middle image into the base: mid leaves the chain and is deleted.
      await rig.host.command("blockjob", uuid, {
        action: "commit",
        disk: "vda",
        top: images.mid,
        base: images.base,
        bandwidth: 0n,
        flags: BlockCommitFlag.DELETE,
      });
      const starts = (await rig.store.readAll({ afterPosition: 0 }))
        .filter((event) => event.type === "domain.block_job_starting");
      assert.deepEqual((starts.at(-1)!.body as unknown as BlockJobStart).deleteImages, [
        images.mid,
      ]);
      await awaitPhase(rig, "bcd");
      await awaitGone(images.mid);
      assert.ok(present(images.top) && present(images.base));
      assert.equal(rig.host.context("bcd").live!.devices.disks[0].source?.file, images.top);

      // An active commit aborted: the job did not complete, every image stays.
      await rig.host.command("blockjob", uuid, {
        action: "commit",
        disk: "vda",
        bandwidth: 0n,
        flags: BlockCommitFlag.ACTIVE | BlockCommitFlag.DELETE,
      });
      await awaitPhase(rig, "bcd", "ready");
      await rig.host.endBlockJob("bcd", { disk: "vda", flags: 0 });
      await awaitPhase(rig, "bcd");
      assert.ok(present(images.top), "an aborted commit deletes nothing");

      // Again, pivoted: the disk runs on the base and the old top is deleted.
      await rig.host.command("blockjob", uuid, {
        action: "commit",
        disk: "vda",
        bandwidth: 0n,
        flags: BlockCommitFlag.ACTIVE | BlockCommitFlag.DELETE,
      });
      await awaitPhase(rig, "bcd", "ready");
      await rig.host.endBlockJob("bcd", { disk: "vda", flags: BlockJobAbortFlag.PIVOT });
      await awaitGone(images.top);
      assert.equal(rig.host.context("bcd").live!.devices.disks[0].source?.file, images.base);
      assert.ok(present(images.base));
      await rig.host.command("destroy", uuid, {});
    } finally {
      await rig.close();
    }
  },
);
