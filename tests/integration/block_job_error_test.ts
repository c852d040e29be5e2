/**
 * A block job that hits an I/O error on a real QEMU guest: a copy into a destination on a tiny
 * tmpfs runs out of space, QEMU reports BLOCK_JOB_ERROR and ends the job with the error, and
 * evirt records what libvirt 9.0 tells its clients — the job's `failed` end (a BLOCK_JOB_2 event
 * with status 1 and QEMU's error) and nothing for the BLOCK_JOB_ERROR itself; the guest runs on
 * its own disk, which no longer has a job (nor a `<mirror>`).
 *
 * @module
 */

import assert from "node:assert/strict";
import { BlockCopyFlag } from "../../src/model/block_jobs.ts";
import type { DomainFact } from "../../src/model/facts.ts";
import { libvirtEventOf } from "../../src/model/lifecycle_table.ts";
import { missing, testIf } from "../support/environment.ts";
import { guestSkipReason } from "../support/guest.ts";
import { TMPFS_SKIP_REASON, withSmallTmpfs } from "../support/small_tmpfs.ts";
import { guestDefinition, openQemuRig } from "./_qemu_guest.ts";

const skip = guestSkipReason() ?? missing("qemu-system-x86_64") ?? missing("qemu-img") ??
  TMPFS_SKIP_REASON;

const MIB = 1024 * 1024;
const WAIT_MS = 30_000;

testIf(
  "a block copy out of space ends failed with QEMU's error; BLOCK_JOB_ERROR itself records nothing; the guest runs on",
  skip,
  async () => {
    const rig = await openQemuRig();
    try {
      // 16 MiB of data to copy, into 2 MiB of room.
      const source = `${rig.dir}/data.raw`;
      Deno.writeFileSync(source, new Uint8Array(16 * MIB).fill(0xab));
      Deno.chmodSync(source, 0o600);
      const definition = guestDefinition("bje", { serial: { file: `${rig.dir}/serial.log` } });
      definition.devices.disks.push({
        type: "file",
        device: "disk",
        driver: { name: "qemu", type: "raw" },
        source: { file: source, hosts: [] },
        target: { dev: "vda", bus: "virtio" },
      });
      await rig.host.define(definition);
      await rig.host.start("bje");
      const { uuid } = rig.host.lookup("bje");
      await withSmallTmpfs(2048, async (tmpfs) => {
        await Deno.chmod(tmpfs.dir, 0o777);
        const before = (await rig.store.readAll({ afterPosition: 0 })).at(-1)?.position ?? 0;
        await rig.host.command("blockjob", uuid, {
          action: "copy",
          disk: "vda",
          destination: { path: `${tmpfs.dir}/copy.raw`, type: "file", format: "raw" },
          bandwidthBytes: 0n,
          flags: BlockCopyFlag.TRANSIENT_JOB,
        });
        const deadline = Date.now() + WAIT_MS;
        while (rig.host.context("bje").blockJobs?.vda !== undefined) {
          if (Date.now() > deadline) throw new Error("the copy did not end");
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        const facts = (await rig.store.readAll({ afterPosition: before }))
          .map((event) => ({ type: event.type, body: event.body }) as DomainFact);
        assert.deepEqual(facts.map((fact) => fact.type), [
          "domain.block_job_starting",
          "domain.block_job_started",
          "domain.block_job_ended",
        ]);
        const ended = facts[2];
        assert.equal(ended.type, "domain.block_job_ended");
        if (ended.type !== "domain.block_job_ended") return;
        assert.equal(ended.body.status, "failed");
        assert.match(ended.body.error ?? "", /No space left on device/);
        const event = libvirtEventOf(ended);
        assert.equal(event?.event, "block-job-2");
        assert.equal(event?.data?.status, 1, "VIR_DOMAIN_BLOCK_JOB_FAILED");
        assert.equal(event?.data?.type, 2, "VIR_DOMAIN_BLOCK_JOB_TYPE_COPY");
        // QEMU did report the error (the driver's QMP transcript has it), which recorded nothing.
        const transcripts = [...Deno.readDirSync(`${rig.dir}/log`)]
          .map((entry) => Deno.readTextFileSync(`${rig.dir}/log/${entry.name}`));
        assert.ok(transcripts.some((text) => text.includes('"BLOCK_JOB_ERROR"')));
        assert.equal(rig.host.context("bje").live!.devices.disks[0].source?.file, source);
        assert.equal(rig.host.lookup("bje").state, 1, "the guest still runs");
      });
      await rig.host.command("destroy", uuid, {});
    } finally {
      await rig.close();
    }
  },
);
