/**
 * Snapshots of the real test guest on a qcow2 disk, through the host actor:
 *
 * - shut off: an internal snapshot (`qemu-img snapshot -c`), the guest's boot-time write, a
 *   revert: the disk holds what it held before (the write is gone);
 * - running: an internal snapshot with memory (SUSPENDED/paused, RESUMED/unpaused, running on),
 *   the guest powered off, a revert: STARTED/from_snapshot and running (from snapshot), and the
 *   guest carries on from the snapshot (no second boot in the appended serial log, its ACPI
 *   handler answers);
 * - disk-only: an external snapshot of the running guest puts a new qcow2 overlay on the disk
 *   (the live XML shows it with the old image as `<backingStore>`, the persistent definition
 *   points at it), and the overlay's backing file is the old image.
 *
 * Every QEMU is killed in `finally`.
 */

import assert from "node:assert/strict";
import type { Disk, DomainDefinition } from "../../src/model/domain.ts";
import { ErrorCode, isVirtError } from "../../src/model/errors.ts";
import { loggedEvents } from "../support/domains.ts";
import { missing, testIf } from "../support/environment.ts";
import {
  GUEST_BOOT_TIMEOUT_MS,
  GUEST_POWERDOWN_MARKER,
  GUEST_READY_MARKER,
  guestKernelCmdline,
  guestSkipReason,
  guestWriteDoneMarker,
  readSerialLog,
  waitForSerialMarker,
} from "../support/guest.ts";
import { guestDefinition, openQemuRig, type QemuRig } from "./_qemu_guest.ts";
import { formatDomainXml } from "../../src/xml/mod.ts";
import { liveFactsOf, withLiveFacts } from "../../src/model/live_facts.ts";
import { readSaveImage } from "../../actors/save_images.ts";

const STATE_TIMEOUT_MS = 15_000;
const MIB = 1024 * 1024;
const DISK_BYTES = 8 * MIB;
/** The guest zeroes 2 MiB at 1 MiB of its disk at every boot. */
const WRITE = { device: "vda", offsetMib: 1, lengthMib: 2 };
/** What the disk holds there before the guest writes. */
const PATTERN = 0xab;

const skip = guestSkipReason() ?? missing("qemu-system-x86_64", "qemu-img");

async function qemuImg(...args: string[]): Promise<string> {
  const output = await new Deno.Command("qemu-img", { args, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(output.stdout);
  if (!output.success) {
    throw new Error(`qemu-img ${args.join(" ")}: ${new TextDecoder().decode(output.stderr)}`);
  }
  return text;
}

/** A qcow2 image of {@linkcode DISK_BYTES} whose bytes at the guest's write are the pattern. */
async function patternedImage(dir: string, name: string): Promise<string> {
  const raw = `${dir}/${name}.raw`;
  const bytes = new Uint8Array(DISK_BYTES);
  bytes.fill(PATTERN, WRITE.offsetMib * MIB, (WRITE.offsetMib + WRITE.lengthMib) * MIB);
  Deno.writeFileSync(raw, bytes);
  const path = `${dir}/${name}.qcow2`;
  await qemuImg("convert", "-f", "raw", "-O", "qcow2", raw, path);
  Deno.removeSync(raw);
  return path;
}

/** The byte at the middle of the guest's write, read from the image (through its chain). */
async function byteAtWrite(rig: QemuRig, image: string): Promise<number> {
  const raw = `${rig.dir}/read-${crypto.randomUUID()}.raw`;
  await qemuImg("convert", "-U", "-O", "raw", image, raw);
  const value = Deno.readFileSync(raw)[(WRITE.offsetMib + 1) * MIB];
  Deno.removeSync(raw);
  return value;
}

function snapshotGuest(name: string, serial: string, image: string): DomainDefinition {
  const definition = guestDefinition(name, { serial: { file: serial } });
  definition.devices.serials[0].sources[0].append = "on";
  const disk: Disk = {
    type: "file",
    device: "disk",
    driver: { name: "qemu", type: "qcow2" },
    source: { file: image, hosts: [] },
    target: { dev: "vda", bus: "virtio" },
  };
  definition.devices.disks.push(disk);
  definition.os.cmdline = guestKernelCmdline([WRITE]);
  return definition;
}

function count(text: string, marker: string): number {
  return text.split("\n").filter((line) => line.trim() === marker).length;
}

async function bootAndWait(rig: QemuRig, name: string, serial: string, boots: number) {
  await rig.host.start(name);
  await waitForSerialMarker(serial, GUEST_READY_MARKER, {
    timeoutMs: GUEST_BOOT_TIMEOUT_MS,
    count: boots,
  });
}

/** Waits until the domain is recorded shut off (its guest powered off and QEMU ended). */
async function waitShutOff(rig: QemuRig, name: string): Promise<void> {
  const deadline = Date.now() + STATE_TIMEOUT_MS;
  while (!rig.stateText(name).startsWith("shut off")) {
    if (Date.now() > deadline) throw new Error(`${name} is still ${rig.stateText(name)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function create(rig: QemuRig, domain: string, xml: string, flags = {}): Promise<void> {
  return rig.host.command("snapshot", domain, { action: "create", xml, flags, answer: {} });
}

testIf(
  "internal snapshot of a shut-off qcow2 guest: a revert brings the disk back",
  skip,
  async () => {
    const rig = await openQemuRig();
    try {
      const serial = `${rig.dir}/serial.log`;
      const image = await patternedImage(rig.dir, "off");
      await rig.host.define(snapshotGuest("off", serial, image));
      await create(rig, "off", "<domainsnapshot><name>clean</name></domainsnapshot>");
      assert.match(await qemuImg("snapshot", "-l", image), /\bclean\b/);
      assert.equal(rig.stateText("off"), "shut off (unknown)");

      await bootAndWait(rig, "off", serial, 1);
      await waitForSerialMarker(serial, guestWriteDoneMarker(WRITE), {
        timeoutMs: GUEST_BOOT_TIMEOUT_MS,
      });
      await rig.host.destroy("off");
      assert.equal(await byteAtWrite(rig, image), 0, "the guest's write is on the disk");

      const before = rig.store.headPosition();
      await rig.host.command("snapshot", "off", { action: "revert", name: "clean" });
      assert.equal(await byteAtWrite(rig, image), PATTERN, "the revert brought the disk back");
      assert.equal(rig.stateText("off"), "shut off (destroyed)");
      assert.deepEqual(await loggedEvents(rig.store, before), ["Defined Snapshot"]);

      // A raw disk takes no internal snapshot: libvirt's refusal, nothing recorded.
      const rawDisk = `${rig.dir}/plain.raw`;
      Deno.writeFileSync(rawDisk, new Uint8Array(MIB));
      const plain = snapshotGuest("plain", serial, rawDisk);
      plain.devices.disks[0].driver = { name: "qemu", type: "raw" };
      await rig.host.define(plain);
      await assert.rejects(
        () => create(rig, "plain", "<domainsnapshot/>"),
        (error) => isVirtError(error, ErrorCode.OPERATION_UNSUPPORTED),
      );
      assert.deepEqual(rig.host.context("plain").snapshots?.snapshots ?? {}, {});
    } finally {
      await rig.close();
    }
  },
);

testIf(
  "internal snapshot of a running guest with memory: the revert carries on from it (one boot)",
  skip,
  async () => {
    const rig = await openQemuRig();
    try {
      const serial = `${rig.dir}/serial.log`;
      const image = await patternedImage(rig.dir, "live");
      await rig.host.define(snapshotGuest("live", serial, image));
      await bootAndWait(rig, "live", serial, 1);
      const before = rig.store.headPosition();
      await create(rig, "live", "<domainsnapshot><name>up</name></domainsnapshot>");
      assert.equal(rig.stateText("live"), "running (unpaused)");
      assert.deepEqual(await loggedEvents(rig.store, before), [
        "Suspended Paused",
        "Resumed Unpaused",
      ]);
      const stored = rig.host.context("live").snapshots!.snapshots.up.definition;
      assert.equal(stored.state, "running");
      assert.equal(stored.memory, "internal");
      assert.ok(stored.inactiveDomain !== undefined, "the persistent definition is kept too");

      await rig.host.shutdown("live");
      await waitForSerialMarker(serial, GUEST_POWERDOWN_MARKER, { timeoutMs: STATE_TIMEOUT_MS });
      await waitShutOff(rig, "live");

      const revertedAt = rig.store.headPosition();
      await rig.host.command("snapshot", "live", { action: "revert", name: "up" });
      assert.equal(rig.stateText("live"), "running (from snapshot)");
      assert.deepEqual(await loggedEvents(rig.store, revertedAt), [
        "Defined Snapshot",
        "Started Snapshot",
      ]);
      // The guest is the one of the snapshot: its ACPI handler answers, and it never booted again.
      await rig.host.shutdown("live");
      await waitForSerialMarker(serial, GUEST_POWERDOWN_MARKER, {
        timeoutMs: STATE_TIMEOUT_MS,
        count: 2,
      });
      await waitShutOff(rig, "live");
      assert.equal(count(readSerialLog(serial), GUEST_READY_MARKER), 1, "one boot");

      // Reverting a running guest paused: STOPPED, STARTED, SUSPENDED (all from snapshot).
      await rig.host.command("snapshot", "live", { action: "revert", name: "up" });
      const pausedAt = rig.store.headPosition();
      await rig.host.command("snapshot", "live", { action: "revert", name: "up", paused: true });
      assert.equal(rig.stateText("live"), "paused (from snapshot)");
      assert.deepEqual(await loggedEvents(rig.store, pausedAt), [
        "Stopped Snapshot",
        "Defined Snapshot",
        "Started Snapshot",
        "Suspended Snapshot",
      ]);
      await rig.host.destroy("live");
      await rig.host.command("snapshot", "live", { action: "delete", name: "up" });
      assert.doesNotMatch(await qemuImg("snapshot", "-l", image), /\bup\b/);
    } finally {
      await rig.close();
    }
  },
);

testIf(
  "disk-only snapshot of a running guest: a new overlay on top, the old image below",
  skip,
  async () => {
    const rig = await openQemuRig();
    try {
      const serial = `${rig.dir}/serial.log`;
      const image = await patternedImage(rig.dir, "ext");
      await rig.host.define(snapshotGuest("ext", serial, image));
      await bootAndWait(rig, "ext", serial, 1);
      await create(
        rig,
        "ext",
        "<domainsnapshot><name>over</name></domainsnapshot>",
        { diskOnly: true },
      );
      const overlay = `${rig.dir}/ext.over`;
      const info = JSON.parse(await qemuImg("info", "-U", "--output=json", overlay));
      assert.equal(info.format, "qcow2");
      assert.equal(info["backing-filename"], image);
      const context = rig.host.context("ext");
      assert.equal(context.live!.devices.disks[0].source?.file, overlay);
      assert.equal(context.definition!.devices.disks[0].source?.file, overlay);
      const liveXml = formatDomainXml(withLiveFacts(context.live!, liveFactsOf(context.runtime)));
      assert.match(liveXml, new RegExp(`<source file='${overlay}'`));
      assert.match(liveXml, new RegExp(`<backingStore type='file'[^]*<source file='${image}'`));
      const stored = context.snapshots!.snapshots.over.definition;
      assert.equal(stored.state, "disk-snapshot");
      assert.equal(stored.disks[0].snapshot, "external");
      // An external snapshot cannot be reverted to (libvirt 9.0 neither).
      await assert.rejects(
        () => rig.host.command("snapshot", "ext", { action: "revert", name: "over" }),
        (error) => isVirtError(error, ErrorCode.CONFIG_UNSUPPORTED),
      );
      // The guest keeps running on the overlay.
      await rig.host.shutdown("ext");
      await waitForSerialMarker(serial, GUEST_POWERDOWN_MARKER, { timeoutMs: STATE_TIMEOUT_MS });
      await waitShutOff(rig, "ext");
    } finally {
      await rig.close();
    }
  },
);

testIf(
  "external snapshot of a running guest with memory: a complete save image, the disk on its overlay",
  skip,
  async () => {
    const rig = await openQemuRig();
    try {
      const serial = `${rig.dir}/serial.log`;
      const image = await patternedImage(rig.dir, "mem");
      await rig.host.define(snapshotGuest("mem", serial, image));
      await bootAndWait(rig, "mem", serial, 1);
      const memory = `${rig.dir}/mem.state`;
      const overlay = `${rig.dir}/mem.top`;
      const before = rig.store.headPosition();
      await create(
        rig,
        "mem",
        `<domainsnapshot><name>whole</name><memory snapshot='external' file='${memory}'/>` +
          `<disks><disk name='vda' snapshot='external'><source file='${overlay}'/></disk>` +
          `</disks></domainsnapshot>`,
      );
      // As libvirt 9.0: paused while the memory is written, running again after.
      assert.equal(rig.stateText("mem"), "running (unpaused)");
      assert.deepEqual(await loggedEvents(rig.store, before), [
        "Suspended Paused",
        "Resumed Unpaused",
      ]);
      const saved = await readSaveImage(memory);
      assert.equal(saved.header.wasRunning, true);
      assert.equal(saved.definition.name, "mem");
      const context = rig.host.context("mem");
      assert.equal(context.live!.devices.disks[0].source?.file, overlay);
      const stored = context.snapshots!.snapshots.whole.definition;
      assert.equal(stored.state, "running");
      assert.equal(stored.memory, "external");
      assert.equal(stored.memoryFile, memory);
      assert.equal(context.intent ?? null, null);

      // Disks internal beside external memory: libvirt's refusal, nothing recorded or written.
      await assert.rejects(
        () =>
          create(
            rig,
            "mem",
            `<domainsnapshot><name>mixed</name><memory snapshot='external' file='${memory}.2'/>` +
              `<disks><disk name='vda' snapshot='internal'/></disks></domainsnapshot>`,
          ),
        (error) => isVirtError(error, ErrorCode.CONFIG_UNSUPPORTED),
      );
      assert.equal(rig.host.context("mem").snapshots!.snapshots.mixed, undefined);
      assert.throws(() => Deno.statSync(`${memory}.2`), Deno.errors.NotFound);

      // The guest carries on, on the overlay.
      await rig.host.shutdown("mem");
      await waitForSerialMarker(serial, GUEST_POWERDOWN_MARKER, { timeoutMs: STATE_TIMEOUT_MS });
      await waitShutOff(rig, "mem");
      assert.equal(count(readSerialLog(serial), GUEST_READY_MARKER), 1, "one boot");
    } finally {
      await rig.close();
    }
  },
);

testIf(
  "deleting external snapshots folds their overlays into the images below, shut off and running",
  skip,
  async () => {
    const rig = await openQemuRig();
    try {
      const serial = `${rig.dir}/serial.log`;
      const image = await patternedImage(rig.dir, "fold");
      await rig.host.define(snapshotGuest("fold", serial, image));
      const first = `${rig.dir}/fold.a`;
      const second = `${rig.dir}/fold.b`;
      const memory = `${rig.dir}/fold.mem`;
      await create(rig, "fold", "<domainsnapshot><name>a</name></domainsnapshot>", {
        diskOnly: true,
      });
      // The guest's boot-time write lands in the first overlay, not in the image.
      await bootAndWait(rig, "fold", serial, 1);
      await waitForSerialMarker(serial, guestWriteDoneMarker(WRITE), {
        timeoutMs: GUEST_BOOT_TIMEOUT_MS,
      });
      await create(
        rig,
        "fold",
        `<domainsnapshot><name>b</name><memory snapshot='external' file='${memory}'/>` +
          `</domainsnapshot>`,
      );
      assert.equal(rig.host.context("fold").live!.devices.disks[0].source?.file, second);
      assert.equal(await byteAtWrite(rig, image), PATTERN);

      // As libvirt 9.0: external descendants are not deleted with their parent.
      await assert.rejects(
        () => rig.host.command("snapshot", "fold", { action: "delete", name: "a", children: true }),
        (error) =>
          isVirtError(error, ErrorCode.CONFIG_UNSUPPORTED) &&
          error.message === "deletion of external children disk snapshots not supported",
      );

      // A snapshot below the top: its overlay is committed into the image, which now has the
      // guest's write; the top overlay is backed by the image.
      await rig.host.command("snapshot", "fold", { action: "delete", name: "a" });
      assert.equal(await byteAtWrite(rig, image), 0, "the write is in the image");
      assert.throws(() => Deno.statSync(first), Deno.errors.NotFound);
      const top = JSON.parse(await qemuImg("info", "-U", "--output=json", second));
      assert.equal(top["backing-filename"], image);
      let context = rig.host.context("fold");
      const liveXml = formatDomainXml(withLiveFacts(context.live!, liveFactsOf(context.runtime)));
      assert.match(liveXml, new RegExp(`<source file='${second}'`));
      assert.match(liveXml, new RegExp(`<backingStore type='file'[^]*<source file='${image}'`));
      assert.doesNotMatch(liveXml, new RegExp(first));

      // The current snapshot at the top: an active commit, the disk pivots onto the image.
      await rig.host.command("snapshot", "fold", { action: "delete", name: "b" });
      assert.throws(() => Deno.statSync(second), Deno.errors.NotFound);
      assert.ok(Deno.statSync(memory).isFile, "the memory image stays, as libvirt keeps it");
      context = rig.host.context("fold");
      assert.equal(context.live!.devices.disks[0].source?.file, image);
      assert.equal(context.definition!.devices.disks[0].source?.file, image);
      assert.deepEqual(context.snapshots!.snapshots, {});
      assert.equal(rig.stateText("fold"), "running (unpaused)");

      // The guest carries on, on its image.
      await rig.host.shutdown("fold");
      await waitForSerialMarker(serial, GUEST_POWERDOWN_MARKER, { timeoutMs: STATE_TIMEOUT_MS });
      await waitShutOff(rig, "fold");

      // Shut off: `qemu-img commit` into the image, the definition back on it.
      await create(rig, "fold", "<domainsnapshot><name>c</name></domainsnapshot>", {
        diskOnly: true,
      });
      assert.equal(
        rig.host.context("fold").definition!.devices.disks[0].source?.file,
        `${rig.dir}/fold.c`,
      );
      await rig.host.command("snapshot", "fold", { action: "delete", name: "c" });
      assert.throws(() => Deno.statSync(`${rig.dir}/fold.c`), Deno.errors.NotFound);
      assert.equal(rig.host.context("fold").definition!.devices.disks[0].source?.file, image);
    } finally {
      await rig.close();
    }
  },
);
