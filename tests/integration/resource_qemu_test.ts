/**
 * `setmem`, `setvcpus` and `blockresize` on a real QEMU guest: the balloon target reaches the
 * guest's balloon driver (QMP `query-balloon` and `dominfo`'s used memory show the new size), a
 * vCPU is hot-plugged and unplugged (`query-hotpluggable-cpus`, `vcpucount`), a raw disk grows
 * (`domblkinfo` capacity, the file's size). Every QEMU started is killed by pid when the rig
 * closes.
 */

import assert from "node:assert/strict";
import { monitorCommand } from "../../actors/guest_commands.ts";
import { vcpuCountOf } from "../../actors/resource_commands.ts";
import { AFFECT_CONFIG, AFFECT_LIVE, MAXIMUM } from "../../src/model/domain_resources.ts";
import type { DomainDefinition } from "../../src/model/domain.ts";
import { isVirtError } from "../../src/model/errors.ts";
import { StatsReader } from "../../src/projections/stats_reader.ts";
import { missing, testIf } from "../support/environment.ts";
import {
  GUEST_BOOT_TIMEOUT_MS,
  GUEST_READY_MARKER,
  guestKernelCmdline,
  guestSkipReason,
} from "../support/guest.ts";
import { guestDefinition, openQemuRig } from "./_qemu_guest.ts";

const signal = () => AbortSignal.timeout(20_000);
const BALLOON_MARKER = "EVIRT-BALLOON-READY";

async function waitForText(path: string, marker: string): Promise<void> {
  const deadline = Date.now() + GUEST_BOOT_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const text = await Deno.readTextFile(path).catch(() => "");
    if (text.includes(marker)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no ${marker} in ${path}`);
}

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 15_000;
  let value = await read();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    value = await read();
  }
  return value;
}

/** The guest with a virtio balloon (its driver loaded), `current` of `maximum` vCPUs. */
function resourceGuest(
  name: string,
  serial: string,
  vcpus: { current: number; maximum: number },
): DomainDefinition {
  const definition = guestDefinition(name, { serial: { file: serial } });
  definition.memoryKiB = 256 * 1024;
  definition.devices.memballoon = { model: "virtio" };
  definition.os.cmdline = `${guestKernelCmdline()} evirt.balloon=1`;
  definition.vcpus = vcpus.maximum;
  if (vcpus.current < vcpus.maximum) definition.vcpu = { current: vcpus.current };
  return definition;
}

testIf(
  "QEMU: setmem --live balloons the guest down; query-balloon and dominfo show the new size",
  guestSkipReason() ?? missing("qemu-system-x86_64"),
  async () => {
    const rig = await openQemuRig();
    try {
      const serial = `${rig.dir}/balloon.log`;
      await rig.host.define(resourceGuest("balloon", serial, { current: 1, maximum: 1 }));
      await rig.host.start("balloon");
      await waitForText(serial, BALLOON_MARKER);
      const { uuid } = rig.host.lookup("balloon");
      const inspect = () => rig.host.inspect("balloon");
      const queryBalloon = async () =>
        JSON.parse(
          await monitorCommand(inspect(), '{"execute":"query-balloon"}', { hmp: false }, signal()),
        ).return.actual as number;
      assert.equal(await queryBalloon(), 256 * 1024 * 1024);

      await rig.host.command("setmem", uuid, {
        memoryKiB: 200 * 1024,
        flags: AFFECT_LIVE,
        api: "virDomainSetMemoryFlags",
      });
      const actual = await until(queryBalloon, (bytes) => bytes === 200 * 1024 * 1024);
      assert.equal(actual, 200 * 1024 * 1024, "the guest gave the memory back");
      const used = await until(
        () => Promise.resolve(inspect().driver!.info(inspect().handle!).memoryKiB),
        (kib) => kib === 200 * 1024,
      );
      assert.equal(used, 200 * 1024, "dominfo's used memory");
      assert.equal(rig.host.context("balloon").live?.currentMemoryKiB, 200 * 1024);
      assert.equal(rig.host.context("balloon").definition?.currentMemoryKiB, undefined);

      await assert.rejects(
        rig.host.command("setmem", uuid, {
          memoryKiB: 300 * 1024,
          flags: AFFECT_LIVE,
          api: "virDomainSetMemoryFlags",
        }),
        (error) =>
          isVirtError(error, 8) && error.message === "cannot set memory higher than max memory",
      );
      await assert.rejects(
        rig.host.command("setmem", uuid, {
          memoryKiB: 300 * 1024,
          flags: MAXIMUM | AFFECT_LIVE,
          api: "virDomainSetMemoryFlags",
        }),
        /cannot resize the maximum memory on an active domain/,
      );
      // The config's maximum may change while it runs; the live one stays.
      await rig.host.command("setmem", uuid, {
        memoryKiB: 512 * 1024,
        flags: MAXIMUM | AFFECT_CONFIG,
        api: "virDomainSetMemoryFlags",
      });
      assert.equal(rig.host.context("balloon").definition?.memoryKiB, 512 * 1024);
      assert.equal(rig.host.context("balloon").live?.memoryKiB, 256 * 1024);
    } finally {
      await rig.close();
    }
  },
);

testIf(
  "QEMU: setvcpus --live hot-plugs and unplugs a vCPU; the cold vCPUs cannot go (code 9)",
  guestSkipReason() ?? missing("qemu-system-x86_64"),
  async () => {
    const rig = await openQemuRig();
    try {
      const serial = `${rig.dir}/vcpus.log`;
      await rig.host.define(resourceGuest("vcpus", serial, { current: 2, maximum: 3 }));
      await rig.host.start("vcpus");
      await waitForText(serial, GUEST_READY_MARKER);
      const { uuid } = rig.host.lookup("vcpus");
      const inspect = () => rig.host.inspect("vcpus");
      const present = async () => {
        const reply = JSON.parse(
          await monitorCommand(
            inspect(),
            '{"execute":"query-hotpluggable-cpus"}',
            { hmp: false },
            signal(),
          ),
        );
        return (reply.return as { "qom-path"?: string }[]).filter((slot) => slot["qom-path"])
          .length;
      };
      const setLive = (count: number, flags = AFFECT_LIVE) =>
        rig.host.command("setvcpus", uuid, { count, flags, api: "virDomainSetVcpusFlags" });
      assert.equal(await present(), 2);
      assert.equal(vcpuCountOf(inspect(), AFFECT_LIVE), 2);

      await setLive(3);
      assert.equal(await present(), 3);
      assert.equal(vcpuCountOf(inspect(), AFFECT_LIVE), 3);
      assert.equal(vcpuCountOf(inspect(), AFFECT_CONFIG), 2, "the config keeps two");
      await assert.rejects(
        setLive(4),
        /requested vcpus is greater than max allowable vcpus for the live domain: 4 > 3/,
      );

      // A guest still bringing the new vCPU up may miss the eject request (libvirt then times
      // out after 5 s too): give it a moment, as a user would.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      await setLive(2);
      assert.equal(await present(), 2, "the guest released the hot-plugged vCPU");
      assert.equal(vcpuCountOf(inspect(), AFFECT_LIVE), 2);

      // vCPUs 0 and 1 started with the guest (-smp 2): not hotpluggable, so 1 is out of reach.
      const before = rig.host.context("vcpus").live;
      await assert.rejects(
        setLive(1),
        (error) =>
          isVirtError(error, 9) &&
          error.message ===
            "failed to find appropriate hotpluggable vcpus to reach the desired target vcpu count",
      );
      await assert.rejects(
        setLive(2, AFFECT_LIVE | AFFECT_CONFIG | MAXIMUM),
        /maximum vcpu count of a live domain can't be modified/,
      );
      assert.deepEqual(rig.host.context("vcpus").live, before, "refusals change nothing");
      assert.equal(await present(), 2);
    } finally {
      await rig.close();
    }
  },
);

testIf(
  "QEMU: blockresize grows and shrinks a running raw disk; domblkinfo shows the new capacity",
  guestSkipReason() ?? missing("qemu-system-x86_64"),
  async () => {
    const rig = await openQemuRig();
    try {
      const image = `${rig.dir}/disk.raw`;
      Deno.writeFileSync(image, new Uint8Array());
      Deno.truncateSync(image, 16 * 1024 * 1024);
      Deno.chmodSync(image, 0o666);
      const serial = `${rig.dir}/disk.log`;
      const definition = resourceGuest("disk", serial, { current: 1, maximum: 1 });
      definition.devices.disks.push({
        type: "file",
        device: "disk",
        driver: { name: "qemu", type: "raw" },
        source: { file: image, hosts: [] },
        target: { dev: "vda", bus: "virtio" },
      });
      await rig.host.define(definition);
      await rig.host.start("disk");
      await waitForText(serial, GUEST_READY_MARKER);
      const { uuid } = rig.host.lookup("disk");
      const reader = new StatsReader(rig.host);
      const capacity = async () =>
        (await reader.blockInfo("disk", "vda", AbortSignal.timeout(10_000))).capacityBytes;
      assert.equal(await capacity(), 16 * 1024 * 1024);

      await rig.host.command("blockresize", uuid, { disk: "vda", size: 32n * 1024n, flags: 0 });
      assert.equal(await capacity(), 32 * 1024 * 1024);
      assert.equal(Deno.statSync(image).size, 32 * 1024 * 1024);

      await rig.host.command("blockresize", uuid, { disk: image, size: 40_000_000n, flags: 1 });
      assert.equal(await capacity(), 40_000_000);

      // libvirt 9.0 has no shrink guard (libvirtd here shrinks a running raw disk too): QEMU does.
      await rig.host.command("blockresize", uuid, { disk: "vda", size: 8n * 1024n, flags: 0 });
      assert.equal(await capacity(), 8 * 1024 * 1024);

      await assert.rejects(
        rig.host.command("blockresize", uuid, { disk: "vdz", size: 1n, flags: 0 }),
        /disk 'vdz' was not found in the domain config/,
      );
    } finally {
      await rig.close();
    }
  },
);
