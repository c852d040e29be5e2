/**
 * Confinement on real QEMU with the test guest (libvirt's DAC driver, issue 13): QEMU runs as
 * the QEMU user in a seccomp sandbox; the files the guest uses are given to that user for the
 * run and given back (original owner and mode) at destroy and after a crash; a file the guest
 * was not given stays unreadable to the QEMU user; `<seclabel>` types and `relabel='no'` are
 * honoured; a disk the QEMU user cannot reach (under /root) fails the start with QEMU's own
 * permission error, as under libvirt, and leaves nothing relabelled. Every QEMU started is
 * killed by pid in `finally`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { DAC_XATTR_NAME, holdersOf } from "../../drivers/qemu/dac_ownership.ts";
import { getXattr } from "../../drivers/qemu/dac_xattr.ts";
import { SANDBOX_OPTION } from "../../drivers/qemu/command_line.ts";
import type { Disk, DomainDefinition } from "../../src/model/domain.ts";
import { ErrorCode, isVirtError } from "../../src/model/errors.ts";
import { DomainState } from "../../src/model/lifecycle.ts";
import { missing, testIf } from "../support/environment.ts";
import {
  GUEST_BOOT_TIMEOUT_MS,
  GUEST_READY_MARKER,
  guestInitrdPath,
  guestKernelPath,
  guestSkipReason,
  waitForSerialMarker,
} from "../support/guest.ts";
import { guestDefinition, openQemuRig, type QemuRig } from "./_qemu_guest.ts";

/** Bound on a state change QEMU brings about, in milliseconds. */
const STATE_TIMEOUT_MS = 15_000;

/** An owner no account has: proves the original owner comes back, not root. */
const ORIGINAL = { uid: 1234, gid: 2345 };

const skip = guestSkipReason() ?? missing("qemu-system-x86_64") ?? missing("setpriv") ??
  (Deno.uid() === 0 ? undefined : "needs root (QEMU runs as the service's user otherwise)");

/** `Uid:`/`Gid:`/`Groups:`/`Seccomp:` of /proc/PID/status. */
function processStatus(pid: number): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of Deno.readTextFileSync(`/proc/${pid}/status`).split("\n")) {
    const [key, ...rest] = line.split(":");
    if (key !== undefined && rest.length > 0) fields[key] = rest.join(":").trim();
  }
  return fields;
}

function ownerOf(path: string): { uid: number; gid: number; mode: number } {
  const info = Deno.statSync(path);
  return { uid: info.uid!, gid: info.gid!, mode: info.mode! & 0o7777 };
}

function rawDisk(path: string, target: string): Disk {
  return {
    type: "file",
    device: "disk",
    driver: { name: "qemu", type: "raw" },
    source: { file: path, hosts: [] },
    target: { dev: target, bus: "virtio" },
  };
}

function makeImage(path: string, mode: number): void {
  Deno.writeFileSync(path, new Uint8Array(1024 * 1024));
  Deno.chownSync(path, ORIGINAL.uid, ORIGINAL.gid);
  Deno.chmodSync(path, mode);
}

function qemuUser(rig: QemuRig): { uid: number; gid: number } {
  const user = rig.driver.dacSettings.user;
  assert.ok(user !== undefined, "the service runs as root, so QEMU has a user of its own");
  return user;
}

/** Tries to read `path` as `user` (with its groups): the error text, or undefined on success. */
function readAs(user: { uid: number; gid: number }, path: string): string | undefined {
  const output = new Deno.Command("setpriv", {
    args: [`--reuid=${user.uid}`, `--regid=${user.gid}`, "--init-groups", "cat", path],
    stdout: "null",
    stderr: "piped",
  }).outputSync();
  return output.success ? undefined : new TextDecoder().decode(output.stderr).trim();
}

function withSeclabel(
  definition: DomainDefinition,
  attributes: Record<string, string>,
  label?: string,
) {
  definition.extra = {
    elements: [{
      element: {
        name: "seclabel",
        attributes,
        ...(label === undefined ? {} : { children: [{ name: "label", children: [label] }] }),
      },
    }],
  };
  return definition;
}

testIf(
  "QemuDriver runs QEMU as the QEMU user in a sandbox and gives it only its files until destroy",
  skip,
  async () => {
    const rig = await openQemuRig();
    try {
      const user = qemuUser(rig);
      const disk = `${rig.dir}/disk.img`;
      makeImage(disk, 0o640);
      const secret = `${rig.dir}/secret`;
      Deno.writeTextFileSync(secret, "not for the guest\n", { mode: 0o600 });
      const serial = `${rig.dir}/serial.log`;
      const kernel = guestKernelPath()!;
      const kernelBefore = ownerOf(kernel);
      const definition = guestDefinition("confined", { serial: { file: serial } });
      definition.devices.disks.push(rawDisk(disk, "vda"));
      await rig.host.define(definition);
      await rig.host.start("confined");
      await waitForSerialMarker(serial, GUEST_READY_MARKER, { timeoutMs: GUEST_BOOT_TIMEOUT_MS });

      const pid = rig.pid("confined");
      const status = processStatus(pid);
      assert.deepEqual(status.Uid.split(/\s+/).map(Number), Array(4).fill(user.uid));
      assert.deepEqual(status.Gid.split(/\s+/).map(Number), Array(4).fill(user.gid));
      assert.notEqual(user.uid, 0);
      // With the user's supplementary groups, as libvirt's virSetUIDGID (initgroups).
      const idGroups = new TextDecoder().decode(
        new Deno.Command("id", { args: ["-G", String(user.uid)], stdout: "piped" }).outputSync()
          .stdout,
      ).trim().split(/\s+/).map(Number).sort();
      assert.deepEqual(status.Groups.split(/\s+/).map(Number).sort(), idGroups);
      assert.equal(status.Seccomp, "2", "QEMU runs under a seccomp filter");
      const cmdline = Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0");
      assert.equal(cmdline[cmdline.indexOf("-sandbox") + 1], SANDBOX_OPTION);
      assert.match(SANDBOX_OPTION, /spawn=deny/);

      const uuid = rig.host.lookup("confined").uuid;
      for (const path of [disk, serial, kernel, guestInitrdPath]) {
        const owner = ownerOf(path);
        assert.deepEqual([owner.uid, owner.gid], [user.uid, user.gid], path);
        assert.ok(holdersOf(path).includes(uuid), `${path} names the domain as a holder`);
      }
      assert.equal(readAs(user, disk), undefined, "the guest's disk is readable to QEMU's user");
      assert.match(
        readAs(user, secret) ?? "",
        /Permission denied/,
        "a file not given stays closed",
      );
      const runtime = rig.host.context("confined").runtime!;
      assert.equal(runtime.seclabelType, "dynamic");
      assert.equal(runtime.seclabelLabel, `+${user.uid}:+${user.gid}`);

      await rig.host.destroy("confined");
      assert.deepEqual(ownerOf(disk), { ...ORIGINAL, mode: 0o640 }, "the original owner is back");
      assert.equal(getXattr(disk, DAC_XATTR_NAME), undefined, "nothing remembered any more");
      assert.deepEqual(ownerOf(serial), { uid: 0, gid: 0, mode: 0o600 }, "as libvirt leaves it");
      assert.deepEqual(ownerOf(kernel), kernelBefore);
    } finally {
      await rig.close();
    }
  },
);

testIf(
  "QemuDriver gives the files back when QEMU dies on its own (SIGKILL)",
  skip,
  async () => {
    const rig = await openQemuRig();
    try {
      const user = qemuUser(rig);
      const disk = `${rig.dir}/disk.img`;
      makeImage(disk, 0o600);
      const definition = guestDefinition("crashing", { serial: "pty" });
      definition.devices.disks.push(rawDisk(disk, "vda"));
      await rig.host.define(definition);
      await rig.host.start("crashing");
      assert.equal(ownerOf(disk).uid, user.uid);
      Deno.kill(rig.pid("crashing"), "SIGKILL");
      await rig.host.waitFor(
        rig.host.lookup("crashing").uuid,
        (summary) => summary.state === DomainState.SHUTOFF,
        STATE_TIMEOUT_MS,
      );
      assert.deepEqual(ownerOf(disk), { ...ORIGINAL, mode: 0o600 });
    } finally {
      await rig.close();
    }
  },
);

testIf(
  "QemuDriver honours seclabel none (root), a static label (its ids, no relabel) and a disk's relabel='no'",
  skip,
  async () => {
    const rig = await openQemuRig();
    try {
      const user = qemuUser(rig);
      const disk = `${rig.dir}/shared.img`;
      makeImage(disk, 0o666);

      const none = withSeclabel(guestDefinition("unconfined", { serial: "pty" }), {
        type: "none",
      });
      none.devices.disks.push(rawDisk(disk, "vda"));
      await rig.host.define(none);
      await rig.host.start("unconfined");
      assert.equal(processStatus(rig.pid("unconfined")).Uid.split(/\s+/)[0], "0");
      assert.equal(ownerOf(disk).uid, ORIGINAL.uid, "type none relabels nothing");
      assert.equal(rig.host.context("unconfined").runtime!.seclabelType, "none");
      await rig.host.destroy("unconfined");

      const fixed = withSeclabel(
        guestDefinition("fixed", { serial: "pty" }),
        { type: "static", model: "dac" },
        "+107:+107",
      );
      fixed.devices.disks.push(rawDisk(disk, "vda"));
      await rig.host.define(fixed);
      await rig.host.start("fixed");
      const status = processStatus(rig.pid("fixed"));
      assert.equal(status.Uid.split(/\s+/)[0], "107");
      assert.equal(status.Gid.split(/\s+/)[0], "107");
      assert.equal(status.Groups, "", "a static label runs without supplementary groups");
      assert.equal(ownerOf(disk).uid, ORIGINAL.uid, "static labels default to relabel='no'");
      await rig.host.destroy("fixed");

      const kept = guestDefinition("kept", { serial: "pty" });
      const keptDisk = rawDisk(disk, "vda");
      keptDisk.source!.extra = {
        elements: [{ element: { name: "seclabel", attributes: { model: "dac", relabel: "no" } } }],
      };
      kept.devices.disks.push(keptDisk);
      await rig.host.define(kept);
      await rig.host.start("kept");
      assert.equal(processStatus(rig.pid("kept")).Uid.split(/\s+/)[0], String(user.uid));
      assert.equal(ownerOf(disk).uid, ORIGINAL.uid, "relabel='no' leaves the image alone");
      assert.equal(ownerOf(guestKernelPath()!).uid, user.uid, "the rest is still given");
      await rig.host.destroy("kept");
    } finally {
      await rig.close();
    }
  },
);

testIf(
  "QemuDriver fails a start on a disk under /root with QEMU's permission error, as libvirt, and gives everything back",
  skip,
  async () => {
    const rig = await openQemuRig();
    const disk = `/root/evirt-dac-test-${crypto.randomUUID()}.img`;
    try {
      makeImage(disk, 0o600);
      const definition = guestDefinition("hidden", { serial: "pty" });
      definition.devices.disks.push(rawDisk(disk, "vda"));
      await rig.host.define(definition);
      const error = await rig.host.start("hidden").catch((caught) => caught);
      assert.ok(isVirtError(error, ErrorCode.INTERNAL_ERROR), String(error));
      assert.match(
        error.message,
        /^process exited while connecting to monitor: .*Permission denied/s,
      );
      assert.deepEqual(ownerOf(disk), { ...ORIGINAL, mode: 0o600 });
      assert.equal(getXattr(disk, DAC_XATTR_NAME), undefined);
    } finally {
      Deno.removeSync(disk);
      await rig.close();
    }
  },
);

testIf(
  "QemuDriver links a listening socket QEMU may not make where asked to the one it makes in its folder",
  skip,
  async () => {
    const rig = await openQemuRig();
    try {
      const requested = `${rig.dir}/serial.sock`;
      const definition = guestDefinition("listening", { serial: "pty" });
      definition.devices.serials.push({
        type: "unix",
        sources: [{ mode: "bind", path: requested }],
      });
      await rig.host.define(definition);
      await rig.host.start("listening");
      const link = Deno.lstatSync(requested);
      assert.ok(link.isSymlink, "the requested path leads to QEMU's socket");
      assert.ok(Deno.statSync(requested).isSocket);
      const connection = await Deno.connect({ transport: "unix", path: requested });
      connection.close();
      await rig.host.destroy("listening");
      assert.throws(() => Deno.lstatSync(requested), Deno.errors.NotFound, "the link goes too");
    } finally {
      await rig.close();
    }
  },
);
